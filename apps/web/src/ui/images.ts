/** Drawing RGBA images: the preview canvas (a grid of the batch) and the results as PNG data URLs. */
import type { Images } from '../protocol.js';

/** A canvas holding one image at its own size (zoom 1). */
export function imageCanvas(side: number, rgba: Uint8ClampedArray): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = c.height = side;
  c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), side, side), 0, 0);
  return c;
}

/** Columns of the batch grid: as square as it gets. */
export function gridColumns(n: number): number {
  return Math.ceil(Math.sqrt(n));
}

/** Draws the batch as one grid at 1 pixel per pixel; CSS scales the canvas up inside its fixed box. */
export function drawGrid(canvas: HTMLCanvasElement, images: Images): void {
  const n = images.rgba.length;
  const cols = gridColumns(n);
  const rows = Math.ceil(n / cols);
  const gap = n > 1 ? 1 : 0;
  const w = cols * images.side + (cols - 1) * gap;
  const h = rows * images.side + (rows - 1) * gap;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, w, h);
  images.rgba.forEach((px, i) => {
    ctx.putImageData(
      new ImageData(new Uint8ClampedArray(px), images.side, images.side),
      (i % cols) * (images.side + gap),
      Math.floor(i / cols) * (images.side + gap),
    );
  });
}

/** The lossless PNG of one image (the browser's own encoder; opaque pixels round-trip exactly). */
export function pngDataUrl(side: number, rgba: Uint8ClampedArray): string {
  return imageCanvas(side, rgba).toDataURL('image/png');
}
