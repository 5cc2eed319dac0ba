/** Bundles device/check.mjs (the GPU-machine check) into one ES module at `outfile`. */
export function buildCheckBundle(outfile: string): Promise<string>;
