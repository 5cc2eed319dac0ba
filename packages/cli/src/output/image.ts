/**
 * From the pipeline's float images to 8-bit RGB, exactly as the reference saves them:
 * `(img · 255).astype(uint8)` on float32 values, i.e. the float32 product truncated toward zero.
 */
import type { TensorLike } from '@nextscale/core';

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes per pixel. */
  data: Uint8Array;
}

/**
 * One channel value in [0, 1] → 0..255: `Math.trunc(x · 255)`. For float32 x the float64 product is
 * exact and truncates to the same integer as the reference's float32 product (checked exhaustively
 * over every float32 in [1/512, 1]), so no `Math.fround` is needed. Out-of-range values are clamped.
 */
export function to8bit(x: number): number {
  const v = Math.trunc(x * 255);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Image `index` of a (B, 3, H, W) tensor as interleaved RGB. */
export function imageFromBatch(images: TensorLike, index: number): RgbImage {
  const [B, C, H, W] = images.shape as [number, number, number, number];
  if (images.shape.length !== 4 || (C !== 3 && C !== 1)) {
    throw new Error(`expected images of shape (B, 3, H, W), got [${images.shape.join(', ')}]`);
  }
  if (index < 0 || index >= B) throw new Error(`image ${index} out of range (batch ${B})`);
  const plane = H * W;
  const base = index * C * plane;
  const data = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      data[i * 3 + c] = to8bit(images.data[base + (C === 1 ? 0 : c) * plane + i]);
    }
  }
  return { width: W, height: H, data };
}

/** Enlarges an image n× by nearest neighbour: each pixel becomes an n×n block of the same value. */
export function zoomImage(img: RgbImage, n: number): RgbImage {
  if (n === 1) return img;
  const width = img.width * n;
  const height = img.height * n;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < img.height; y++) {
    const row = data.subarray(y * n * width * 3, (y * n + 1) * width * 3);
    for (let x = 0; x < img.width; x++) {
      const px = img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3);
      for (let k = 0; k < n; k++) row.set(px, (x * n + k) * 3);
    }
    for (let k = 1; k < n; k++) data.copyWithin((y * n + k) * width * 3, y * n * width * 3, (y * n + 1) * width * 3);
  }
  return { width, height, data };
}
