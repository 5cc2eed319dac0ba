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
 *
 * Browser-safe (no node: imports): the web app reads the same names through `@nextscale/hub/browser`.
 */
import { HubError } from './errors.js';
import { checkFileName, checkRepo, checkRevision } from './names.js';

export interface ModelEntry {
  name: string;
  description: string;
  repo: string;
  revision: string;
  files: { var: string; vae: string };
  /** Approximate bytes of each file, for listing before the hub is asked. */
  bytes: { var: number; vae: number };
  /** Trainable parameters of the transformer. */
  params: number;
  depth: number;
  resolution: number;
  patchNums: number[];
  sharedAdaLN: boolean;
  /** 'built-in', or the catalogue file that added or replaced the name. */
  source: string;
}

const REPO = 'FoundationVision/var';
const VAE = 'vae_ch160v4096z32.pth';
const VAE_BYTES = 435_957_260;
const P256 = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const P512 = [1, 2, 3, 4, 6, 9, 13, 18, 24, 32];

function released(depth: number, params: number, bytes: number, big = false): ModelEntry {
  return {
    name: `var-d${depth}`,
    description: `VAR-d${depth}, ImageNet ${big ? 512 : 256}×${big ? 512 : 256} class-conditional`,
    repo: REPO,
    revision: 'main',
    files: { var: `var_d${depth}.pth`, vae: VAE },
    bytes: { var: bytes, vae: VAE_BYTES },
    params,
    depth,
    resolution: big ? 512 : 256,
    patchNums: big ? P512 : P256,
    sharedAdaLN: big,
    source: 'built-in',
  };
}

/** The released checkpoints (VAR README "Model zoo"; shapes from the architecture: C = 64·depth, heads = depth). */
export const RELEASED_MODELS: readonly ModelEntry[] = Object.freeze([
  released(16, 310_283_520, 1_243_054_656),
  released(20, 600_917_136, 2_405_625_984),
  released(24, 1_033_399_360, 4_135_599_936),
  released(30, 2_010_020_356, 8_042_166_864),
  released(36, 2_353_893_904, 9_435_995_712, true),
]);

export function findModel(name: string, models: readonly ModelEntry[]): ModelEntry {
  const m = models.find((x) => x.name === name);
  if (!m)
    throw new HubError(
      'unknown-model',
      `no model named '${name}'`,
      `use one of ${models.map((x) => x.name).join(', ')} ('nextscale models' lists them), or --var/--vae for your own files`,
    );
  return m;
}

/**
 * Catalogue entries from parsed JSON (an array of ModelEntry without `source`), each checked so that a
 * hostile catalogue fails before anything is requested. `source` (a file, a URL) marks each entry; `what` starts
 * the error message and `fix` is its fix.
 */
export function parseCatalogue(raw: unknown, o: { source: string; what: string; fix: string }): ModelEntry[] {
  const source = o.source;
  const bad = (why: string) => new HubError('unknown-model', `${o.what}: ${why}`, o.fix);
  if (!Array.isArray(raw)) throw bad('expected a JSON array of models');
  return raw.map((e: Record<string, unknown>, i) => {
    const files = e?.['files'] as Record<string, unknown> | undefined;
    if (typeof e?.['name'] !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(e['name']))
      throw bad(`entry ${i}: 'name' must be a simple name`);
    if (typeof e['repo'] !== 'string' || typeof files?.['var'] !== 'string' || typeof files?.['vae'] !== 'string')
      throw bad(`entry ${i} (${e['name']}): needs 'repo' and 'files' { var, vae }`);
    const num = (k: string, d: number) => (typeof e[k] === 'number' ? (e[k] as number) : d);
    const bytes = e['bytes'] as Record<string, unknown> | undefined;
    const entry: ModelEntry = {
      name: e['name'],
      description: typeof e['description'] === 'string' ? e['description'] : e['name'],
      repo: e['repo'],
      revision: typeof e['revision'] === 'string' ? e['revision'] : 'main',
      files: { var: files['var'] as string, vae: files['vae'] as string },
      bytes: { var: Number(bytes?.['var'] ?? 0), vae: Number(bytes?.['vae'] ?? 0) },
      params: num('params', 0),
      depth: num('depth', 0),
      resolution: num('resolution', 0),
      patchNums: Array.isArray(e['patchNums']) ? (e['patchNums'] as number[]) : [],
      sharedAdaLN: e['sharedAdaLN'] === true,
      source,
    };
    // Names are checked here too, so that a hostile catalogue fails before anything is requested.
    checkRepo(entry.repo);
    checkRevision(entry.revision);
    checkFileName(entry.files.var);
    checkFileName(entry.files.vae);
    return entry;
  });
}

/**
 * After loading: the checkpoint must be the model the name promises (a mirror serving another file
 * under the name would otherwise generate silently with the wrong model). Entries that leave depth or
 * patchNums unset (0, []) do not check them.
 */
export function checkLoadedModel(
  entry: ModelEntry,
  loaded: { depth: number; patchNums: readonly number[]; sharedAdaLN: boolean },
): void {
  const problems: string[] = [];
  if (entry.depth && loaded.depth !== entry.depth) problems.push(`depth ${loaded.depth}, not ${entry.depth}`);
  if (entry.patchNums.length && loaded.patchNums.join(',') !== entry.patchNums.join(','))
    problems.push(`patch_nums ${loaded.patchNums.join(',')}, not ${entry.patchNums.join(',')}`);
  if (entry.depth && loaded.sharedAdaLN !== entry.sharedAdaLN)
    problems.push(`${loaded.sharedAdaLN ? 'shared' : 'per-block'} AdaLN`);
  if (problems.length) {
    throw new HubError(
      'wrong-model',
      `${entry.files.var} from ${entry.repo}@${entry.revision} is not ${entry.name}: it has ${problems.join(', ')}`,
      `check HF_ENDPOINT (a mirror serves another file under this name)${entry.source === 'built-in' ? '' : ` or the entry in ${entry.source}`}`,
    );
  }
}
