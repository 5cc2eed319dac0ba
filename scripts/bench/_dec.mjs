import * as core from '@nextscale/core';
import '@nextscale/backend-cpu/register';
import { engine as onnx } from '@nextscale/engine-onnx';
const e = await onnx.create({});
core.setDenseEngine(e);
const cfg = core.releasedVQVAEConfig();
const pn = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const vae = core.VQVAE.fromStateDict(core.randomVQVAEStateDict(cfg), { patchNums: pn });
const router = await core.AttentionRouter.create({ policy: core.priorityPolicy() });
const tokens = pn.map((p) => Int32Array.from({ length: p * p }, (_, i) => (i * 7919) % 4096));
const ts = [];
for (let r = 0; r < 4; r++) {
  const t0 = performance.now();
  await vae.decode(tokens, { router, trace: new core.AttentionTrace() });
  ts.push((performance.now() - t0) / 1000);
}
console.log(process.env.NET_OPT ?? 'basic', ts.map((t) => t.toFixed(2)).join(' '), 'peak', (process.resourceUsage().maxRSS / 2 ** 20).toFixed(2), 'GiB');
process.exit(0);
