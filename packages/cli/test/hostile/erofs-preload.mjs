// Test-only preload (node --import): NEXTSCALE_TEST_EROFS_DIR behaves as a folder on a read-only file
// system (every open for writing there fails with EROFS), which root cannot otherwise get from chmod.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.NEXTSCALE_TEST_EROFS_DIR;
if (dir) {
  const open = fs.promises.open.bind(fs.promises);
  fs.promises.open = async (file, flags, mode) => {
    if (
      typeof file === 'string' &&
      path.dirname(path.resolve(file)) === path.resolve(dir) &&
      /[wa+]/.test(String(flags ?? 'r'))
    ) {
      throw Object.assign(new Error(`EROFS: read-only file system, open '${file}'`), {
        code: 'EROFS',
        errno: -30,
        syscall: 'open',
        path: file,
      });
    }
    return open(file, flags, mode);
  };
}
