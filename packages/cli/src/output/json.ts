/** The one JSON document a command prints in --json mode. */
export function writeJson(stdout: NodeJS.WritableStream, doc: unknown): void {
  stdout.write(`${JSON.stringify(doc, replacer, 2)}\n`);
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Int32Array || value instanceof Float32Array || value instanceof Uint8Array)
    return Array.from(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
