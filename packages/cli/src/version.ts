/** The CLI's version, in its own module so that commands can read it without importing the entry (index.ts). */
export const VERSION = '0.1.0';
