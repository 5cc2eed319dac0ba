/** `--class`: numbers, or names where the model ships class names (case-insensitive). */
import { usageError } from '../errors.js';

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '');

function validList(numClasses: number | undefined, names: string[] | undefined): string {
  if (names?.length) {
    const shown = names.slice(0, 20).map((n, i) => `${i} ${n}`);
    return `valid classes: ${shown.join(', ')}${names.length > 20 ? `, … (${names.length} in all)` : ''}`;
  }
  return numClasses
    ? `valid classes are the numbers 0..${numClasses - 1} (this model ships no class names)`
    : 'pass class numbers';
}

/** Resolves each `--class` value (repeatable, comma lists allowed) to a class index. */
export function parseClasses(values: string[], numClasses: number | undefined, names: string[] | undefined): number[] {
  const tokens = values
    .flatMap((v) => v.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  return tokens.map((t) => {
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (numClasses !== undefined && n >= numClasses) {
        throw usageError(
          `class ${n} is out of range for this model (${numClasses} classes)`,
          validList(numClasses, names),
        );
      }
      return n;
    }
    if (names?.length) {
      const lower = t.toLowerCase();
      let i = names.findIndex((n) => n.toLowerCase() === lower);
      if (i < 0) i = names.findIndex((n) => norm(n) === norm(t) && norm(t) !== '');
      if (i < 0) {
        const prefix = names.map((n, j) => [n, j] as const).filter(([n]) => norm(t) && norm(n).startsWith(norm(t)));
        if (prefix.length === 1) i = prefix[0][1];
      }
      if (i >= 0) return i;
    }
    throw usageError(`unknown class '${t}'`, validList(numClasses, names));
  });
}

export function className(index: number, names: string[] | undefined): string | undefined {
  return names?.[index];
}
