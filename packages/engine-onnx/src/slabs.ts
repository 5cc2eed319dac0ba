/**
 * Float arrays carved from shared slabs of at least 64 MiB, for arrays that become garbage together: a feature net's
 * Winograd-transformed weights (feature-net-graph.ts), garbage once ONNX Runtime holds its own copies. glibc serves an
 * allocation over its mmap threshold (at most 32 MiB) with a mapping of its own, given back to the system when it is
 * freed. Arrays of a few MB each come from the heap instead, and once freed they stay resident as holes that ONNX
 * Runtime's aligned allocations seldom fit (NOTES.md, "Session 11"). A slab's tail that nothing takes is never touched,
 * so it takes no memory.
 */
export class Slabs {
  private slab: ArrayBuffer | null = null;
  private used = 0;

  constructor(private readonly slabBytes = 64 * 2 ** 20) {}

  take(floats: number): Float32Array {
    const bytes = floats * 4;
    if (!this.slab || this.used + bytes > this.slab.byteLength) {
      this.slab = new ArrayBuffer(Math.max(this.slabBytes, bytes));
      this.used = 0;
    }
    const a = new Float32Array(this.slab, this.used, floats);
    this.used += bytes;
    return a;
  }
}
