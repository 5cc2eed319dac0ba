/**
 * A picture to edit, decoded by the browser (createImageBitmap: PNG, JPEG, WebP, GIF, BMP) and brought to
 * the model's resolution as the CLI brings it: the centred square, then a resize when the side differs,
 * transparency flattened onto black. The resize is the browser's high-quality filter
 * (`resizeQuality: 'high'`; Chromium's is a bicubic-class filter with mipmaps for large reductions), not the
 * CLI's Lanczos-3, so a picture of another size can differ from the CLI's input by a few levels; a picture
 * already at the model's size keeps its exact pixels (no colour conversion, no premultiplication).
 */
export const RESIZE_FILTER = "the browser's high-quality filter, createImageBitmap resizeQuality 'high'";

export interface Picture {
  name: string;
  width: number;
  height: number;
  bitmap: ImageBitmap;
}

export interface ModelPicture {
  side: number;
  /** side × side RGBA, alpha 255 */
  rgba: Uint8ClampedArray;
  /** What was done to the picture, for the user; '' when nothing was. */
  note: string;
}

const RAW: ImageBitmapOptions = {
  colorSpaceConversion: 'none',
  premultiplyAlpha: 'none',
  imageOrientation: 'from-image',
};

/** Decodes a picked or dropped file; one clear line when the browser cannot read it. */
export async function openPicture(file: File): Promise<Picture> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, RAW);
  } catch {
    throw new Error(`${file.name} is not a picture this browser can decode (or it is truncated); open a PNG or JPEG`);
  }
  if (!bitmap.width || !bitmap.height)
    throw new Error(`${file.name} has no pixels; open a PNG or JPEG with an image in it`);
  return { name: file.name, width: bitmap.width, height: bitmap.height, bitmap };
}

/** The picture at side × side, as the model takes it. */
export async function toModelSize(p: Picture, side: number): Promise<ModelPicture> {
  const crop = Math.min(p.width, p.height);
  const left = Math.floor((p.width - crop) / 2);
  const top = Math.floor((p.height - crop) / 2);
  const cropped = crop !== p.width || crop !== p.height;
  const resized = crop !== side;
  const bitmap =
    cropped || resized
      ? await createImageBitmap(p.bitmap, left, top, crop, crop, {
          ...RAW,
          resizeWidth: side,
          resizeHeight: side,
          resizeQuality: 'high',
        })
      : p.bitmap;
  const canvas = new OffscreenCanvas(side, side);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, side, side);
  ctx.drawImage(bitmap, 0, 0);
  if (bitmap !== p.bitmap) bitmap.close();
  const rgba = ctx.getImageData(0, 0, side, side).data;
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  const steps = [
    cropped ? `centre-cropped to ${crop}×${crop}` : '',
    resized ? `resized to ${side}×${side} (${RESIZE_FILTER})` : '',
  ].filter(Boolean);
  return {
    side,
    rgba,
    note: steps.length
      ? `${p.name} is ${p.width}×${p.height}; ${steps.join(' and ')}`
      : `${p.name}: ${side}×${side}, used as it is`,
  };
}
