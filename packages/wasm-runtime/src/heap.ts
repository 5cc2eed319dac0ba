/**
 * The WebAssembly memory the kernels work in, laid out by JavaScript (the kernels allocate nothing): the first 64 KiB
 * hold the worker pool's control block, then each call takes what it needs from `CALL_BASE` up. The memory grows on
 * demand and never shrinks; typed-array views are re-made after a growth.
 */
export const PAGE = 65536;
/** Bytes at the bottom of the memory reserved for the control block (Int32 slots, see pool.ts). */
export const CONTROL_BYTES = PAGE;
export const CALL_BASE = CONTROL_BYTES;

/** Shared memories need a maximum up front (address space is reserved for it, not memory): 1 GiB. */
const SHARED_MAX_PAGES = 16384;

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  private f32View: Float32Array;
  private i32View: Int32Array;

  constructor(shared: boolean) {
    this.shared = shared;
    this.memory = shared
      ? new WebAssembly.Memory({ initial: 2, maximum: SHARED_MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: 2 });
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer, 0, CONTROL_BYTES >> 2);
  }

  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      if (this.shared && have / PAGE + pages > SHARED_MAX_PAGES) {
        throw new RangeError(
          `wasm kernels need ${bytes} bytes, over the ${SHARED_MAX_PAGES * PAGE}-byte shared memory limit`,
        );
      }
      this.memory.grow(pages);
    }
  }

  /** Float32 view of the whole memory (re-made after a growth, which replaces `memory.buffer`). */
  get f32(): Float32Array {
    const buf = this.memory.buffer;
    if (this.f32View.buffer !== buf) this.f32View = new Float32Array(buf);
    return this.f32View;
  }

  /** The control block as Int32 slots. */
  get control(): Int32Array {
    const buf = this.memory.buffer;
    if (this.i32View.buffer !== buf) this.i32View = new Int32Array(buf, 0, CONTROL_BYTES >> 2);
    return this.i32View;
  }
}

/** Rounds a byte address up to a 64-byte boundary (a cache line; v128 loads stay aligned). */
export function align64(x: number): number {
  return (x + 63) & ~63;
}
