/** This package's version, named by both descriptors (Node's in descriptor.ts, the browser's in browser.ts). */
export const VERSION = '0.1.0';
