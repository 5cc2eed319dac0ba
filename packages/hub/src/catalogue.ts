/**
 * The released VAR models by name. Each name is two files of the Hugging Face repository
 * FoundationVision/var: the transformer `var_d{depth}.pth` and the VQ-VAE `vae_ch160v4096z32.pth` that
 * all of them share. The configuration (depth, schedule, shared AdaLN) is what the loader reads off the
 * checkpoint itself; the catalogue states it so that a name can be listed before anything is
 * downloaded, and so that a file that is not the promised model is refused after loading.
 *
 * Sizes are the float32 tensor bytes of the released shapes (parameters plus buffers; a .pth adds a
 * few kB of pickle and zip headers). The hub's own size and SHA-256 are what a download is checked
 * against; these figures are for listing and for the space check before a download.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HubError } from './errors.js';
import { parseCatalogue, RELEASED_MODELS, type ModelEntry } from './released.js';

export { checkLoadedModel, findModel, parseCatalogue, RELEASED_MODELS, type ModelEntry } from './released.js';

/**
 * The catalogue: the released models, plus or overridden by the entries of a JSON file (an array of
 * ModelEntry without `source`) named by `NEXTSCALE_MODELS_FILE`: for a private mirror's own names, and
 * for tests that serve small models under the released names. Every entry says where it came from.
 */
export function catalogue(env: NodeJS.ProcessEnv = process.env): ModelEntry[] {
  const byName = new Map(RELEASED_MODELS.map((m) => [m.name, m]));
  const file = env['NEXTSCALE_MODELS_FILE'];
  if (file) for (const m of readCatalogueFile(path.resolve(file))) byName.set(m.name, m);
  return [...byName.values()];
}

function readCatalogueFile(file: string): ModelEntry[] {
  const fix =
    'fix the file (an array of { name, repo, revision, files: { var, vae }, … }) or unset NEXTSCALE_MODELS_FILE';
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new HubError('unknown-model', `NEXTSCALE_MODELS_FILE ${file}: ${(err as Error).message}`, fix);
  }
  return parseCatalogue(raw, { source: file, what: `NEXTSCALE_MODELS_FILE ${file}`, fix });
}
