/**
 * Where the var-tiny fixture is (core's fixtures/var-tiny: a 2-block VAR and its VQ-VAE with PyTorch's reference
 * tensors). Found by walking up from this module, so the same code works from src/ (core's own tests) and from
 * dist/ (another package running the model-parity suite). Node only.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findVarTiny(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'fixtures', 'var-tiny');
    if (existsSync(path.join(candidate, 'refs.json'))) return candidate + path.sep;
    if (path.dirname(dir) === dir) {
      throw new Error(
        `@nextscale/core's fixtures/var-tiny is not above ${here}: the model-parity suite runs inside the nextscale repository`,
      );
    }
  }
}

/** The fixture folder, with a trailing separator. */
export const VAR_TINY_DIR = findVarTiny();
