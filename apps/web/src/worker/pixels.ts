/**
 * Float images to 8-bit RGBA exactly as the CLI (and the reference) saves them: `trunc(x · 255)` of each
 * channel value, clamped to 0..255, alpha 255.
 */
import type { Tensor } from '@nextscale/core';
import type { Images } from '../protocol.js';

export function toRgba(images: Tensor, map: (v: number) => number = (v) => v): Images {
  const [B, C, H, W] = images.shape as [number, number, number, number];
  const plane = H * W;
  const rgba: Uint8ClampedArray[] = [];
  for (let b = 0; b < B; b++) {
    const out = new Uint8ClampedArray(plane * 4);
    const base = b * C * plane;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.trunc(map(images.data[base + (C === 1 ? 0 : c) * plane + i]) * 255);
        out[i * 4 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      out[i * 4 + 3] = 255;
    }
    rgba.push(out);
  }
  return { side: W, rgba };
}
