/**
 * Gives large dropped ArrayBuffers back at once. A buffer the engine drops (a weight's JavaScript copy once ONNX
 * Runtime holds it, a block's KV cache replaced by the next scale's, a session's serialised graph) keeps its memory
 * until V8 next collects garbage, and V8 schedules that by its own heap, not by these native backing stores: handing
 * d36's weights over held ~1.5 GiB more than the weights (NOTES.md, "Session 7: memory"). So the engine counts what it
 * drops and runs a full collection when a threshold's worth is waiting (one per block's handover at d36).
 *
 * The collector is reached through V8's --expose-gc flag, set at run time (Node only: node.ts creates the Reclaimer);
 * where that fails, reclaiming is a no-op and memory is freed as V8 sees fit.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What the engine tells about buffers it drops (engine.ts and block-runner.ts take it; Node's is below). */
export interface Reclaim {
  /** Notes `bytes` of buffers just dropped; collects when a threshold's worth is waiting. */
  dropped(bytes: number): void;
  /** Collects now whatever is waiting (before a step that allocates much right away). */
  collectNow(): void;
}

/** V8's full collection, or null where the flag cannot be set. */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** Counts dropped bytes and collects when `threshold` bytes are waiting (a no-op without the collector). */
export class Reclaimer implements Reclaim {
  private pending = 0;
  collections = 0;
  private readonly collect = collector();

  constructor(private readonly threshold = 256 * 2 ** 20) {}

  dropped(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.threshold) this.collectNow();
  }

  collectNow(): void {
    if (!this.collect || this.pending === 0) return;
    this.pending = 0;
    this.collections++;
    this.collect();
  }
}
