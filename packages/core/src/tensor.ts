/**
 * The one tensor type of nextscale: a shape and a row-major Float32Array.
 * Every public function also accepts a plain `{ shape, data }` object (see `asTensor`).
 */
export interface TensorLike {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export class Tensor implements TensorLike {
  readonly shape: number[];
  readonly data: Float32Array;

  constructor(shape: readonly number[], data?: Float32Array) {
    const size = sizeOf(shape);
    if (data && data.length !== size) {
      throw new ShapeError(`data has ${data.length} elements but shape [${shape.join(', ')}] needs ${size}`);
    }
    this.shape = [...shape];
    this.data = data ?? new Float32Array(size);
  }

  get size(): number {
    return this.data.length;
  }

  /** Same data, new shape (no copy). */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(shape, this.data);
  }

  clone(): Tensor {
    return new Tensor(this.shape, this.data.slice());
  }
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new ShapeError(`invalid dimension ${s} in shape [${shape.join(', ')}]`);
    n *= s;
  }
  return n;
}

/** Accepts a Tensor or a plain `{ shape, data }` object; checks that they agree. */
export function asTensor(t: TensorLike, what = 'tensor'): Tensor {
  if (t instanceof Tensor) return t;
  if (!t || !Array.isArray(t.shape) || !(t.data instanceof Float32Array)) {
    throw new ShapeError(`${what} must be { shape: number[], data: Float32Array }`);
  }
  if (sizeOf(t.shape) !== t.data.length) {
    throw new ShapeError(
      `${what}: data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${sizeOf(t.shape)}`,
    );
  }
  return new Tensor(t.shape, t.data);
}

export function zeros(shape: readonly number[]): Tensor {
  return new Tensor(shape);
}

export function fromArray(shape: readonly number[], values: ArrayLike<number>): Tensor {
  return new Tensor(shape, Float32Array.from(values));
}

export function expectShape(t: TensorLike, rank: number, what: string): void {
  if (t.shape.length !== rank) {
    throw new ShapeError(`${what} must have rank ${rank}, got shape [${t.shape.join(', ')}]`);
  }
}
