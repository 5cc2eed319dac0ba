// Stands in for node:* modules in the browser bundle: importing core is fine, calling a
// file-system function in a page is a clear error instead of a failed import.
module.exports = new Proxy(
  {},
  {
    get(_, name) {
      if (name === '__esModule') return false;
      return () => {
        throw new Error(`node:${String(name)} is not available in the browser`);
      };
    },
  },
);
