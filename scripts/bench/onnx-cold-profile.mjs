// Where a cold d16 generation's time goes on the onnx engine, in one fresh process: imports, writing nothing (the model
// is built in memory from random weights at the released shapes, like the other benchmarks), the first generation
// split into session builds (fused blocks: BlockRunner.prepare; one-op graphs and feature nets: OrtSessions.create)
// and the rest, then a second (warm) generation. The first generation's extra time over the warm one is what a CLI
// user pays on every command.
// Usage: pnpm build && nice node scripts/bench/onnx-cold-profile.mjs [--fused 0|1]
import os from 'node:os';

const t0 = performance.now();
const core = { ...(await import('@nextscale/core')), ...(await import('@nextscale/core/models')) };
await import('@nextscale/backend-cpu/register');
const onnxPkg = await import('@nextscale/engine-onnx');
const tImports = performance.now();
const fused = !process.argv.includes('--fused') || process.argv[process.argv.indexOf('--fused') + 1] !== '0';
const timers = { blockBuild: 0, blockBuilds: 0, sessionBuild: 0, sessionBuilds: 0 };
const prepare = onnxPkg.BlockRunner.prototype.prepare;
onnxPkg.BlockRunner.prototype.prepare = async function (...a) {
  const t = performance.now();
  try {
    return await prepare.apply(this, a);
  } finally {
    timers.blockBuild += performance.now() - t;
    timers.blockBuilds++;
  }
};
const create = onnxPkg.OrtSessions.prototype.create;
onnxPkg.OrtSessions.prototype.create = async function (...a) {
  const t = performance.now();
  try {
    return await create.apply(this, a);
  } finally {
    timers.sessionBuild += performance.now() - t;
    timers.sessionBuilds++;
  }
};
const engine = await onnxPkg.engine.create({ fusedBlocks: fused });
const tEngine = performance.now();
const model = await core.VARModel.fromStateDicts(
  { tensors: core.randomVARStateDict(core.releasedVARSpec(16)) },
  { tensors: core.randomVQVAEStateDict(core.releasedVQVAEConfig()) },
  { policy: core.priorityPolicy(), engine },
);
const tModel = performance.now();
const gen = async (seed) => {
  const t = performance.now();
  let tDec = 0;
  await model.generate({
    labels: [207],
    cfg: 1.5,
    topK: 900,
    topP: 0.95,
    seed,
    onProgress: (p) => {
      if (p.stage === 'decode' && !tDec) tDec = performance.now();
    },
  });
  return {
    total: (performance.now() - t) / 1000,
    transformer: (tDec - t) / 1000,
    decode: (performance.now() - tDec) / 1000,
  };
};
const first = await gen(1);
const firstTimers = { ...timers };
const second = await gen(2);
const s = (ms) => (ms / 1000).toFixed(2);
console.log(
  `fused blocks ${fused ? 'on' : 'off'}; load ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
console.log(
  `imports ${s(tImports - t0)} s, engine start ${s(tEngine - tImports)} s, model built in memory ${s(tModel - tEngine)} s`,
);
console.log(
  `first generation ${first.total.toFixed(2)} s (transformer ${first.transformer.toFixed(2)}, decode ${first.decode.toFixed(2)}): ` +
    `fused-block sessions ${s(firstTimers.blockBuild)} s (${firstTimers.blockBuilds}), one-op/feature-net sessions ${s(firstTimers.sessionBuild)} s (${firstTimers.sessionBuilds})`,
);
console.log(
  `second generation ${second.total.toFixed(2)} s (transformer ${second.transformer.toFixed(2)}, decode ${second.decode.toFixed(2)}); ` +
    `first − second ${(first.total - second.total).toFixed(2)} s; peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`,
);
await model.dispose();
process.exit(0);
