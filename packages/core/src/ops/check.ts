/** Small argument checks shared by the ops (internal; not exported from the package). */
import { ShapeError, type TensorLike } from '../tensor.js';

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function requireSameShape(op: string, a: TensorLike, b: TensorLike): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`);
  }
}

export function requireRank(op: string, what: string, t: TensorLike, rank: number, layout?: string): void {
  if (t.shape.length !== rank) {
    throw new ShapeError(
      `${op}: ${what} must have rank ${rank}${layout ? ` ${layout}` : ''}, got shape ${fmtShape(t.shape)}`,
    );
  }
}

/** Rank ≥ 1; returns the size of the last dimension. */
export function lastDim(op: string, what: string, t: TensorLike): number {
  if (t.shape.length === 0) throw new ShapeError(`${op}: ${what} must have rank ≥ 1, got a scalar`);
  return t.shape[t.shape.length - 1];
}

export function requirePositiveInt(op: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: ${what} must be a positive integer, got ${v}`);
}
