/**
 * The shape of `nextscale.config.{json,mjs,ts}`, validated strictly so that a misspelt key is named
 * in one line ("nextscale.config.json: unknown key 'backendz' at top level").
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const policySchema = z
  .object({
    name: z.enum(['norm', 'priority', 'explicit']).optional(),
    backend: z.string().min(1).optional(),
    epsilon: z.number().positive().optional(),
    order: z.array(z.string().min(1)).optional(),
    // The norm policy's cost model and caps (docs/theory.md §8).
    kappa: z.number().positive().optional(),
    gMax: positiveInt.optional(),
    rMax: positiveInt.optional(),
    betaCap: z.number().positive().optional(),
  })
  .strict();

const modelObject = z
  .object({
    /** A released model by name ("var-d16" … "var-d36"), fetched into the Hugging Face cache; instead of var/vae. */
    name: z.string().min(1).optional(),
    var: z.string().min(1).optional(),
    vae: z.string().min(1).optional(),
    patchNums: z.array(positiveInt).min(1).optional(),
    numHeads: positiveInt.optional(),
  })
  .strict();

/** `"model": "var-d30"` is short for `"model": { "name": "var-d30" }`. */
export const modelSchema = z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), modelObject);

export const samplingSchema = z
  .object({
    cfg: z.number().min(0).optional(),
    topK: z.number().int().min(0).optional(),
    topP: z.number().min(0).max(1).optional(),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    moreSmooth: z.boolean().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    backends: z.array(z.string().min(1)).optional(),
    /** Dense-engine packages to load (default: every @nextscale/engine-* found) and the engine id to run on. */
    engines: z.array(z.string().min(1)).optional(),
    engine: z.string().min(1).optional(),
    policy: policySchema.optional(),
    model: modelSchema.optional(),
    sampling: samplingSchema.optional(),
    /** Options for each backend's create(), by backend id: { "gpu": { "mode": "webgpu" } }. */
    backendOptions: z.record(z.string().min(1), z.record(z.string(), z.unknown())).optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configSchema>;

/** One line naming the first problem: the key, where it is, and what was expected. */
export function describeConfigIssue(file: string, error: z.ZodError): string {
  // A misspelt key usually also makes a required-looking value go missing: name the key first.
  const issues = [...error.issues].sort(
    (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
  );
  const issue = issues[0];
  const where = issue.path.length ? issue.path.map(String).join('.') : '';
  const at = where ? `at ${where}` : 'at top level';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const list = keys.map((k) => `'${k}'`).join(', ');
    return `${file}: unknown key${keys.length > 1 ? 's' : ''} ${list} ${at}`;
  }
  const more =
    error.issues.length > 1
      ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})`
      : '';
  return `${file}: ${where || 'the file'}: ${issue.message}${more}`;
}

export const CONFIG_KEYS_HELP =
  'valid keys: backends, policy { name, backend, epsilon, order, kappa, gMax, rMax, betaCap }, model (a name, or { name, var, vae, patchNums, numHeads }), sampling { cfg, topK, topP, seed, moreSmooth }, backendOptions { <backend id>: { … } }, engines, engine';
