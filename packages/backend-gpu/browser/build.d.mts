/** Bundles the browser check page script; resolves to the bundle's path. */
export function buildBrowserBundle(outfile?: string): Promise<string>;
