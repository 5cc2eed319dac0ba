// What reading the AdaLN weights from the checkpoint at each generation costs (core models/var/adaln-weights.ts):
// VARTransformer.condition() — the class-condition rows through every block's ada_lin and head_nm — timed on a d16
// loaded from files with loadVAR's streamAdaLN true (read from the file, linearOnce) and false (held, pinned like any
// weight), in one process, alternating, medians after one warm-up each. B images give 2B rows (guidance).
// Usage: pnpm build && node scripts/bench/adaln-stream.mjs [--dir D] [--engine onnx] [--reps 9] [--batch 1,8]
//   --dir D: where var_d16.safetensors and vae_ch160v4096z32.safetensors are (written there when missing; default a
//   temp dir, removed afterwards).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { machine, median } from '@nextscale/bench-utils';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const reps = Number(arg('--reps', 9));
const engine = arg('--engine', 'onnx');
const batches = String(arg('--batch', '1,8')).split(',').map(Number);
const keep = arg('--dir');
const dir = keep ?? mkdtempSync(join(os.tmpdir(), 'nextscale-adaln-'));

const core = await import('@nextscale/core');
const models = await import('@nextscale/core/models');
const { writeSafetensors } = await import('@nextscale/core/weights');
await import('@nextscale/backend-cpu/register');
await import(`@nextscale/engine-${engine}/register`);

const files = { var: join(dir, 'var_d16.safetensors'), vae: join(dir, 'vae_ch160v4096z32.safetensors') };
if (!existsSync(files.var))
  await writeSafetensors(files.var, models.randomVARStateDictEntries(models.releasedVARSpec(16)));
if (!existsSync(files.vae))
  await writeSafetensors(files.vae, models.randomVQVAEStateDictEntries(models.releasedVQVAEConfig()));

console.log(
  `machine: ${JSON.stringify(machine())}; load average before: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const loaded = {
  stream: await core.loadVAR({ ...files, engine, encoder: false, images: 8 }),
  hold: await core.loadVAR({ ...files, engine, encoder: false, images: 8, streamAdaLN: false }),
};
console.log(`engine: ${loaded.stream.engine.name}`);
for (const B of batches) {
  const labels = loaded.stream.transformer.labels(Array.from({ length: B }, (_, i) => 207 + i));
  // guidance's rows: the labels, then as many of the null class
  const rows = Int32Array.from([...labels, ...labels.map(() => loaded.stream.config.numClasses)]);
  const times = { stream: [], hold: [] };
  for (const m of Object.values(loaded)) await m.transformer.condition(rows); // warm-up (pins the held weights)
  for (let r = 0; r < reps; r++) {
    for (const [k, m] of Object.entries(loaded)) {
      const t0 = performance.now();
      await m.transformer.condition(rows);
      times[k].push(performance.now() - t0);
    }
  }
  console.log(
    `B=${B} (${rows.length} rows), condition() median of ${reps}: streamed ${median(times.stream).toFixed(1)} ms, held ${median(times.hold).toFixed(1)} ms`,
  );
}
console.log(
  `load average after: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
await Promise.all(Object.values(loaded).map((m) => m.dispose()));
if (!keep) rmSync(dir, { recursive: true, force: true });
process.exit(0);
