/**
 * What the coordinator keeps of a job's result (from Redis, so from anyone who can write there):
 * only images of the job's own plan, named as the plan names them, each a PNG of the model's size that
 * decodes, under a size cap, from a result that echoes the digest of the plan the coordinator made.
 * Everything else is a problem, named, and the image is asked for again.
 */
import { PNG } from 'pngjs';
import { pngHeader } from '../input/dimensions.js';

/** The largest PNG a side × side RGB image may be: twice its raw size (deflate never expands that much) plus headers. */
export function pngCap(side: number): number {
  return 2 * side * (3 * side + 1) + 4096;
}

/** The largest result (JSON, base64 PNGs) a job of `images` images may return. */
export function resultCap(images: number, side: number): number {
  return Math.ceil((images * pngCap(side) * 4) / 3) + 64 * 1024;
}

export interface ResultCheck {
  /** The worker id the result names (for the report only). */
  worker: string;
  good: { file: string; png: Uint8Array }[];
  problems: string[];
}

/** Checks a result (its raw JSON) against the job's plan: its digest and file names, and the model's image side. */
export function checkResult(
  raw: string,
  expected: { digest: string; files: readonly string[] },
  side: number,
): ResultCheck {
  const problems: string[] = [];
  const good: ResultCheck['good'] = [];
  let r: { digest?: unknown; images?: unknown; worker?: unknown };
  try {
    r = JSON.parse(raw) as typeof r;
  } catch {
    return { worker: '?', good, problems: ['its result is not JSON'] };
  }
  const worker = typeof r?.worker === 'string' ? r.worker.slice(0, 200) : '?';
  if (r?.digest !== expected.digest)
    return {
      worker,
      good,
      problems: ['its result was rendered from another plan than the one enqueued (the digest differs)'],
    };
  if (!Array.isArray(r.images)) return { worker, good, problems: ['its result holds no list of images'] };
  const wanted = new Set(expected.files);
  for (const im of r.images as unknown[]) {
    const { file, png } = (im ?? {}) as { file?: unknown; png?: unknown };
    if (typeof file !== 'string' || !wanted.has(file)) {
      problems.push(`it returned ${JSON.stringify(String(file)).slice(0, 60)}, which it was not asked for`);
      continue;
    }
    wanted.delete(file);
    const why = typeof png === 'string' ? pngProblem(png, side) : 'no PNG data';
    if (typeof why === 'string') problems.push(`${file}: ${why}`);
    else good.push({ file, png: why });
  }
  if (wanted.size)
    problems.push(
      `${[...wanted].slice(0, 3).join(', ')}${wanted.size > 3 ? ` and ${wanted.size - 3} more` : ''} missing`,
    );
  return { worker, good, problems };
}

/** The PNG bytes when `base64` is an 8-bit RGB side × side PNG that decodes, else why not. */
function pngProblem(base64: string, side: number): Uint8Array | string {
  if (base64.length > Math.ceil((pngCap(side) * 4) / 3))
    return `${Math.round((base64.length * 3) / 4 / 1024)} KiB, more than a ${side}×${side} PNG can be`;
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  const h = pngHeader(bytes);
  if (typeof h === 'string') return h;
  if (h.width !== side || h.height !== side) return `a ${h.width}×${h.height} PNG, the model makes ${side}×${side}`;
  if (h.bitDepth !== 8 || h.colorType !== 2) return 'not an 8-bit RGB PNG';
  try {
    PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return 'a PNG that does not decode (truncated or corrupt)';
  }
  return bytes;
}
