// Test-only preload (node --import): the .npz being written stalls after its first write (as on a
// hung network disk), and says so on stderr, so a test can interrupt packing mid-way.
import fs from 'node:fs';

const open = fs.promises.open.bind(fs.promises);
fs.promises.open = async (file, flags, mode) => {
  const handle = await open(file, flags, mode);
  if (typeof file !== 'string' || !/\.npz\.tmp-/.test(file)) return handle;
  const write = handle.write.bind(handle);
  let writes = 0;
  handle.write = async (...args) => {
    if (writes++ === 0) return write(...args);
    process.stderr.write('test: packing stalls\n');
    return new Promise(() => setInterval(() => undefined, 1000)); // never settles; the timer keeps the process alive, as a hung disk would
  };
  return handle;
};
