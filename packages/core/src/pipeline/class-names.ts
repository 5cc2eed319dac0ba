/** Optional human-readable class names stored in a safetensors `__metadata__` entry `class_names` (a JSON array). */
import { WeightsError } from '../errors.js';

export function classNamesFromMetadata(
  metadata: Readonly<Record<string, string>> | undefined,
  numClasses: number,
  file: string,
): string[] | undefined {
  const raw = metadata?.class_names;
  if (raw === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(raw);
  } catch {
    throw new WeightsError(file, `metadata class_names is not JSON: ${raw.slice(0, 80)}`);
  }
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new WeightsError(file, 'metadata class_names must be a JSON array of strings');
  }
  if (names.length !== numClasses) {
    throw new WeightsError(
      file,
      `metadata class_names has ${names.length} names but the model has ${numClasses} classes`,
    );
  }
  return names as string[];
}
