/**
 * Several samples in one picture: one row per class, one column per sample, with the class name
 * drawn to the left of each row. Every tile is copied unchanged, so each stays pixel-exact.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';
import type { RgbImage } from './image.js';

export interface GridTile {
  row: number;
  col: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GridOptions {
  /** Tiles per row (the rest wrap onto the next line within the same row group). */
  columns: number;
  /** One label per row group; omitted or empty for no label column. */
  rowLabels?: string[];
  padding?: number;
  background?: readonly [number, number, number];
  foreground?: readonly [number, number, number];
}

export interface Grid {
  image: RgbImage;
  tiles: GridTile[];
}

/** `images` in row-major order: row r holds images [r·columns, (r+1)·columns). */
export function composeGrid(images: RgbImage[], o: GridOptions): Grid {
  if (!images.length) throw new Error('no images for the grid');
  const { width: tw, height: th } = images[0];
  const pad = o.padding ?? 2;
  const cols = Math.max(1, Math.min(o.columns, images.length));
  const rows = Math.ceil(images.length / cols);
  const labels = o.rowLabels?.some((l) => l) ? o.rowLabels : undefined;
  const labelW = labels ? Math.max(...labels.map((l) => textWidth(l))) + pad : 0;
  const rowH = Math.max(th, labels ? GLYPH_HEIGHT : 0);
  const width = pad + labelW + cols * (tw + pad);
  const height = pad + rows * (rowH + pad);
  const bg = o.background ?? [24, 24, 24];
  const fg = o.foreground ?? [235, 235, 235];
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(bg, i * 3);
  const tiles: GridTile[] = [];
  images.forEach((img, i) => {
    if (img.width !== tw || img.height !== th) throw new Error('grid images must share one size');
    const row = Math.floor(i / cols);
    const col = i % cols;
    const x = pad + labelW + col * (tw + pad);
    const y = pad + row * (rowH + pad);
    for (let yy = 0; yy < th; yy++) {
      data.set(img.data.subarray(yy * tw * 3, (yy + 1) * tw * 3), ((y + yy) * width + x) * 3);
    }
    tiles.push({ row, col, x, y, width: tw, height: th });
  });
  if (labels) {
    for (let r = 0; r < rows; r++) {
      const text = labels[r] ?? '';
      const y = pad + r * (rowH + pad) + Math.floor((rowH - GLYPH_HEIGHT) / 2);
      drawText(data, width, height, text, pad, y, fg, labelW);
    }
  }
  return { image: { width, height, data }, tiles };
}
