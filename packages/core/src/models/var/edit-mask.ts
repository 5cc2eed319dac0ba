/**
 * The masks of zero-shot editing (VAR's demo_zero_shot_edit.ipynb): `get_edit_mask`, which marks the
 * tokens of the last patch grid to keep, and the resizing that `replace_embedding` applies to it at
 * every scale (bilinear, align_corners = False, then > 0.5; all kept where pn² ≤ 3).
 */
import { UsageError } from '../../errors.js';
import { Tensor, type TensorLike } from '../../tensor.js';

/** `inpaint`: the box is regenerated, the rest kept. `outpaint`: the box is kept, the rest regenerated. */
export type EditMode = 'inpaint' | 'outpaint';

/** A box in fractions of the image side: [y0, x0, y1, x1], top-left inclusive, bottom-right exclusive. */
export type EditBox = readonly [number, number, number, number];

/**
 * Python's built-in `round` on a float: to the nearest integer, halves to the even one
 * (round(0.5) = 0, round(1.5) = 2, round(2.5) = 2), on the exact double value.
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact for doubles of this size
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Rows [r0, r1) and columns [c0, c1) of a side × side grid that a box covers, as `get_edit_mask` slices them. */
export function boxCells(side: number, box: EditBox): { r0: number; r1: number; c0: number; c1: number } {
  checkSide(side);
  checkBox(box);
  const [y0, x0, y1, x1] = box;
  return {
    r0: roundHalfEven(y0 * side),
    r1: roundHalfEven(y1 * side),
    c0: roundHalfEven(x0 * side),
    c1: roundHalfEven(x1 * side),
  };
}

/**
 * `get_edit_mask(patch_nums, y0, x0, y1, x1, inpainting)` on a side × side grid (side = the last patch
 * number): (side, side) float32, 1 = keep the input's token, 0 = let VAR generate it. The box is
 * `[round(y0·side):round(y1·side), round(x0·side):round(x1·side)]` with Python's rounding; in-painting
 * inverts it. A box that covers no cell after the rounding is an error (the edit would do nothing, or
 * regenerate everything).
 */
export function editMask(side: number, box: EditBox, mode: EditMode): Tensor {
  if (mode !== 'inpaint' && mode !== 'outpaint')
    throw new UsageError(`edit mode must be 'inpaint' or 'outpaint', got ${JSON.stringify(mode)}`);
  const { r0, r1, c0, c1 } = boxCells(side, box);
  if (r1 <= r0 || c1 <= c0) {
    throw new UsageError(
      `box [${box.join(', ')}] covers no cell of the ${side}×${side} token grid (rows ${r0}:${r1}, columns ${c0}:${c1} after rounding); make it at least 1/${side} of the image on each side`,
    );
  }
  const inside = mode === 'outpaint' ? 1 : 0;
  const out = new Tensor([side, side]);
  out.data.fill(1 - inside);
  for (let r = r0; r < r1; r++) out.data.fill(inside, r * side + c0, r * side + c1);
  return out;
}

function checkSide(side: number): void {
  if (!Number.isInteger(side) || side < 1)
    throw new UsageError(`the mask side must be a positive integer (the last patch number), got ${side}`);
}

function checkBox(box: EditBox): void {
  if (!Array.isArray(box) || box.length !== 4)
    throw new UsageError(`a box is [y0, x0, y1, x1] (fractions of the image side), got ${JSON.stringify(box)}`);
  const [y0, x0, y1, x1] = box;
  for (const [name, v] of [
    ['y0', y0],
    ['x0', x0],
    ['y1', y1],
    ['x1', x1],
  ] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new UsageError(
        `box ${name} = ${v} is outside [0, 1]: a box is [y0, x0, y1, x1] in fractions of the image side`,
      );
    }
  }
  if (!(y1 > y0 && x1 > x0)) throw new UsageError(`box [${box.join(', ')}] is empty: it needs y1 > y0 and x1 > x0`);
}

/**
 * `F.interpolate(m, size=(out, out), mode='bilinear', align_corners=False)` of maps (B, h, w), as
 * PyTorch's CPU kernel computes it in float32: scale = h/out, src = scale·(dst + 0.5) − 0.5 clamped at
 * 0, i0 = ⌊src⌋, i1 = min(i0 + 1, h − 1), λ = src − i0; out = (v00·w0 + v01·w1)·h0 + (v10·w0 + v11·w1)·h1,
 * every operation rounded to float32 (`Math.fround`). The weights are PyTorch's bit for bit; the sums may
 * differ from its compiled kernel in the last bit (it may fuse them into FMAs); the thresholded masks
 * (> 0.5) match PyTorch's exactly for every schedule, box and size the tests try.
 */
export function resizeBilinear(maps: TensorLike, outH: number, outW: number): Tensor {
  const [B, h, w] = maps.shape as [number, number, number];
  const out = new Tensor([B, outH, outW]);
  const ty = linearTaps(h, outH);
  const tx = linearTaps(w, outW);
  const f = Math.fround;
  for (let b = 0; b < B; b++) {
    const src = b * h * w;
    for (let i = 0; i < outH; i++) {
      const r0 = src + ty.i0[i] * w;
      const r1 = src + ty.i1[i] * w;
      for (let j = 0; j < outW; j++) {
        const [a, c] = [tx.i0[j], tx.i1[j]];
        const top = f(f(maps.data[r0 + a] * tx.w0[j]) + f(maps.data[r0 + c] * tx.w1[j]));
        const bottom = f(f(maps.data[r1 + a] * tx.w0[j]) + f(maps.data[r1 + c] * tx.w1[j]));
        out.data[(b * outH + i) * outW + j] = f(f(top * ty.w0[i]) + f(bottom * ty.w1[i]));
      }
    }
  }
  return out;
}

function linearTaps(n: number, out: number): { i0: Int32Array; i1: Int32Array; w0: Float32Array; w1: Float32Array } {
  const f = Math.fround;
  const scale = f(n / out);
  const taps = {
    i0: new Int32Array(out),
    i1: new Int32Array(out),
    w0: new Float32Array(out),
    w1: new Float32Array(out),
  };
  for (let o = 0; o < out; o++) {
    if (n === out) {
      // PyTorch copies when the size does not change.
      taps.i0[o] = taps.i1[o] = o;
      taps.w0[o] = 1;
      continue;
    }
    // `scale * (dst_index + 0.5) - 0.5` with a float scale and a double (dst_index + 0.5): the source
    // position is a double here, and λ = src − ⌊src⌋ is rounded to float only when stored. (For 4 → 3
    // that makes λ = 0.5 + 2⁻²⁴ rather than 0.5, which decides the > 0.5 threshold.) Checked weight for
    // weight against PyTorch (edit-mask.test.ts).
    const src = Math.max(scale * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const lambda = Math.min(Math.max(src - i0, 0), 1);
    taps.i0[o] = i0;
    taps.i1[o] = i0 < n - 1 ? i0 + 1 : i0;
    taps.w1[o] = lambda; // rounded to float here
    taps.w0[o] = 1 - taps.w1[o]; // 1 − float(λ), as PyTorch's float lambda1
  }
  return taps;
}

/**
 * Where the input's tokens are used at a scale of pn × pn tokens (`replace_embedding`'s force_gt):
 * the keep maps (B, h, w) resized bilinearly to (pn, pn) and thresholded at > 0.5; every token is kept
 * where pn² ≤ 3. Returns B·pn² entries of 0/1, row-major.
 */
export function forceMask(keep: TensorLike, pn: number): Uint8Array {
  const [B] = keep.shape as [number];
  const out = new Uint8Array(B * pn * pn);
  if (pn * pn <= 3) return out.fill(1);
  const resized = resizeBilinear(keep, pn, pn);
  for (let i = 0; i < out.length; i++) out[i] = resized.data[i] > 0.5 ? 1 : 0;
  return out;
}

/**
 * A keep map of any size (h, w) or (B, h, w), values in [0, 1], brought to the side × side token grid the
 * way the reference brings its mask to each scale (bilinear, align_corners = False, > 0.5): what a mask
 * drawn at image resolution means on the last patch grid. Returns (side, side) or (B, side, side), 0/1.
 */
export function keepOnGrid(keep: TensorLike, side: number): Tensor {
  checkSide(side);
  const rank = keep.shape.length;
  if (rank !== 2 && rank !== 3)
    throw new UsageError(`a keep map is (h, w) or (B, h, w), got (${keep.shape.join(', ')})`);
  const maps = rank === 2 ? { shape: [1, ...keep.shape], data: keep.data } : keep;
  const [, h, w] = maps.shape as [number, number, number];
  if (h < 1 || w < 1) throw new UsageError(`a keep map needs at least one pixel, got (${keep.shape.join(', ')})`);
  for (let i = 0; i < maps.data.length; i++) {
    const v = maps.data[i];
    if (!(v >= 0 && v <= 1)) throw new UsageError(`keep map value ${v} at ${i} is not in [0, 1]`);
  }
  const resized = resizeBilinear(maps, side, side);
  const out = new Tensor(
    rank === 2 ? [side, side] : resized.shape,
    resized.data.map((v) => (v > 0.5 ? 1 : 0)),
  );
  return out;
}
