// Test-only preload (node --import): the disk "fills up" in NEXTSCALE_TEST_ENOSPC_DIR after
// NEXTSCALE_TEST_ENOSPC_AFTER files have been written there — every later write fails with ENOSPC,
// as a full disk does. Lets the suite check full-disk handling without root or a small tmpfs.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.NEXTSCALE_TEST_ENOSPC_DIR;
const after = Number(process.env.NEXTSCALE_TEST_ENOSPC_AFTER ?? '0');
if (dir) {
  const open = fs.promises.open.bind(fs.promises);
  let written = 0;
  fs.promises.open = async (file, flags, mode) => {
    const handle = await open(file, flags, mode);
    if (
      typeof file !== 'string' ||
      path.dirname(path.resolve(file)) !== path.resolve(dir) ||
      !String(flags).includes('w')
    )
      return handle;
    const writeFile = handle.writeFile.bind(handle);
    handle.writeFile = async (data, options) => {
      if (written >= after)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
          errno: -28,
          syscall: 'write',
        });
      written++;
      return writeFile(data, options);
    };
    return handle;
  };
}
