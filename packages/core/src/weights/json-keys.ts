/**
 * JSON.parse keeps the last of two equal keys without a word; the safetensors reference parser
 * (serde) refuses them, and a header naming one tensor twice is corrupt or crafted to show two readers
 * two different files. This scans text that JSON.parse has already accepted and reports the first key
 * that appears twice in one object. One pass, no recursion (nesting depth costs nothing).
 */
export interface DuplicateKey {
  /** The keys of the enclosing objects, outermost first ([] for the top level). */
  path: string[];
  key: string;
}

export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // One frame per open object or array; objects remember their keys and whether a key comes next.
  const frames: { keys?: Set<string>; expectKey: boolean; key?: string }[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (escaped) escaped = false;
        else if (d === 0x5c /* \ */) escaped = true;
        else if (d === 0x22) break;
      }
      const top = frames[frames.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i, j + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key))
          return {
            path: frames
              .slice(0, -1)
              .filter((f) => f.key !== undefined)
              .map((f) => f.key!),
            key,
          };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */) frames.push({ keys: new Set(), expectKey: true });
    else if (c === 0x5b /* [ */) frames.push({ expectKey: false });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
    } else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1];
      if (top?.keys) top.expectKey = true;
    }
    i++;
  }
  return undefined;
}
