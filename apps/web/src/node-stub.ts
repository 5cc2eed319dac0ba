/**
 * Stands in for node:* modules in the browser build. Core imports fs, crypto and zlib for files on disk;
 * the app never calls them, and if something did, it gets this error instead of a failed import.
 */
function unavailable(name: string): never {
  throw new Error(`${name} is a Node.js API and is not available in the browser`);
}

export const promises = new Proxy({}, { get: (_, key) => () => unavailable(`fs.promises.${String(key)}`) });
export const createHash = () => unavailable('crypto.createHash');
export default {};
/** zlib.crc32 exists only in newer Node; core computes the CRC itself when it is missing. */
export const crc32 = undefined;
/** fs.constants: read only when a file on disk is opened. */
export const constants = {};
/** os.totalmem: core asks it only in Node (the page has no figure to give). */
export const totalmem = () => unavailable('os.totalmem');
/** os.freemem: core's memory-fit check asks it only in Node (on a page it reports no limit known). */
export const freemem = () => unavailable('os.freemem');
