// Time of one full generation (batch 1, cfg 1.5, top-k 900, top-p 0.96, seed 0), split into the transformer
// without attention, the transformer's attention (KV-cached, through the router) and the VQ-VAE decode, each with
// its analytic FLOP count (docs/var-port.md §6) and the achieved GFLOP/s. Models: (1) the tiny fixture
// (packages/core/fixtures/var-tiny, patchNums inferred from lvl_1L) and (2) a random VAR-d16 at 256 px with the
// official-shape VQ-VAE, built in memory (no files).
// Attention is timed by a decorator around the cpu backend's instance and state methods, registered in a private
// registry; the transformer/decode split comes from generate()'s onProgress stages.
// Usage: pnpm build && node scripts/bench/generation.mjs [--reps N] [--skip-d16] [--skip-tiny]
//   --reps defaults to 3 for tiny (after one warm-up run) and 1 for d16 (no warm-up).
import { fileURLToPath } from 'node:url';
import '@nextscale/engine-wasm/register';
import { createRegistry, loadVAR, priorityPolicy, selectEngine, setDenseEngine, VARModel } from '@nextscale/core';
import { activeEngineInfo } from '@nextscale/core/engines';
import { randomVARStateDict, randomVQVAEStateDict, releasedVARSpec, releasedVQVAEConfig } from '@nextscale/core/models';
import { backend as cpuBackend } from '@nextscale/backend-cpu';
import { machine, median } from '@nextscale/bench-utils';
import { timedBackend } from './timed-backend.mjs';

// core computes on its TypeScript reference until an engine is chosen: pick the best installed one (the WebAssembly
// engine here; NEXTSCALE_ENGINE / NEXTSCALE_THREADS are honoured), as the CLI does.
setDenseEngine((await selectEngine()).engine);

const argv = process.argv.slice(2);
const repsArg = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : undefined;
const GEN = { labels: [0], cfg: 1.5, topK: 900, topP: 0.96, seed: 0 };
const TINY = fileURLToPath(new URL('../../packages/core/fixtures/var-tiny/', import.meta.url));

// ---------------------------------------------------------------------------------------------------------------
// FLOP counts (FLOP = 2·MAC; matmuls and convs only), per generated image.

/** Transformer with CFG (2 rows per image) and a KV cache: linear layers, head, attention. */
function transformerFlops(c) {
  const L = c.patchNums.reduce((s, p) => s + p * p, 0);
  // Per token per block: qkv 3C², proj C², fc1 + fc2 2·C·hidden (= 12C² with hidden 4C); head C·V per token.
  // Not counted: word_embed (Cvae·C per token), ada_lin (6C² per row per block per scale), head_nm (2C² per row per scale).
  const blockMac = 4 * c.embedDim * c.embedDim + 2 * c.embedDim * c.mlpHidden;
  const linear = 2 * 2 * L * (c.depth * blockMac + c.embedDim * c.vocabSize);
  // Attention: token i of scale k sees L≤k keys; q·k and p·v cost 2d MAC per (query, key) pair, per head.
  let end = 0;
  let pairs = 0;
  for (const p of c.patchNums) {
    end += p * p;
    pairs += p * p * end;
  }
  const attention = 2 * 2 * 2 * c.headDim * pairs * c.numHeads * c.depth;
  return { L, pairs, linear, attention };
}

/** post_quant_conv + decoder at the latent side z (§2.1), from the config's shapes; includes the attention matmuls. */
function decoderFlops(cfg, z) {
  let mac = 0;
  const conv = (ci, co, k, hw) => (mac += ci * co * k * k * hw);
  const resnet = (ci, co, hw) => {
    conv(ci, co, 3, hw);
    conv(co, co, 3, hw);
    if (ci !== co) conv(ci, co, 1, hw);
  };
  const attn = (C, hw) => {
    conv(C, 3 * C, 1, hw);
    conv(C, C, 1, hw);
    mac += 2 * hw * hw * C; // q·kᵀ and A·v
  };
  const n = cfg.chMult.length;
  const cMid = cfg.ch * cfg.chMult[n - 1];
  let side = z;
  conv(cfg.Cvae, cfg.Cvae, 3, side * side); // post_quant_conv
  conv(cfg.Cvae, cMid, 3, side * side); // conv_in
  resnet(cMid, cMid, side * side);
  if (cfg.usingMidSa) attn(cMid, side * side);
  resnet(cMid, cMid, side * side);
  let cin = cMid;
  for (let i = n - 1; i >= 0; i--) {
    const cout = cfg.ch * cfg.chMult[i];
    for (let j = 0; j <= cfg.numResBlocks; j++) {
      resnet(j === 0 ? cin : cout, cout, side * side);
      if (i === n - 1 && cfg.usingSa) attn(cout, side * side);
    }
    cin = cout;
    if (i !== 0) {
      side *= 2;
      conv(cout, cout, 3, side * side); // upsample conv at the doubled resolution
    }
  }
  conv(cin, cfg.inChannels, 3, side * side); // conv_out
  return { flops: 2 * mac, imageSide: side };
}

// ---------------------------------------------------------------------------------------------------------------
// Attention timing: the cpu backend with every instance/state method timed, in a private registry.

function timedRegistry() {
  const clock = { stage: 'transformer', var: 0, varCalls: 0, vae: 0, vaeCalls: 0 };
  // one-shot attention is the VQ-VAE decoder's (teacher forcing is not run here); KV-state calls are the transformer's
  const timed = timedBackend(cpuBackend, (seconds, call) => {
    const what = call === 'attend' && clock.stage === 'decode' ? 'vae' : 'var';
    clock[what] += seconds;
    clock[`${what}Calls`]++;
  });
  const registry = createRegistry();
  registry.register(timed);
  return { registry, clock };
}

async function timeGeneration(model, clock) {
  Object.assign(clock, { stage: 'transformer', var: 0, varCalls: 0, vae: 0, vaeCalls: 0 });
  let tDecode;
  let cpuDecode;
  const cpuSeconds = (u) => (u.user + u.system) / 1e6;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await model.generate({
    ...GEN,
    onProgress: (e) => {
      if (e.stage === 'decode') {
        tDecode = performance.now();
        cpuDecode = process.cpuUsage(cpu0);
        clock.stage = 'decode';
      }
    },
  });
  const t1 = performance.now();
  const cpu1 = process.cpuUsage(cpu0);
  const transformer = (tDecode - t0) / 1000;
  return {
    // Process CPU time (all threads, user + system): with other jobs on the machine it shows how much CPU the run got.
    cpuTransformer: cpuSeconds(cpuDecode),
    cpuDecode: cpuSeconds(cpu1) - cpuSeconds(cpuDecode),
    total: (t1 - t0) / 1000,
    transformer,
    attention: clock.var,
    transformerOnly: transformer - clock.var,
    decode: (t1 - tDecode) / 1000,
    vaeAttention: clock.vae,
    calls: { var: clock.varCalls, vae: clock.vaeCalls },
    tokens: out.tokens,
    trace: out.trace,
  };
}

async function bench(name, model, clock, reps, warmup) {
  const c = model.config;
  const vaeCfg = model.vae.model.config;
  const tf = transformerFlops(c);
  const dec = decoderFlops(vaeCfg, c.patchNums[c.patchNums.length - 1]);
  console.log(
    `\n## ${name}: depth ${c.depth}, C ${c.embedDim}, heads ${c.numHeads} × ${c.headDim}, V ${c.vocabSize}, L ${tf.L} ` +
      `(patchNums [${c.patchNums.join(',')}] from ${c.patchNumsSource}), VQ-VAE ch ${vaeCfg.ch} (${vaeCfg.chMult.join(',')}) → ${dec.imageSide}² px`,
  );
  if (warmup) await timeGeneration(model, clock);
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t = await timeGeneration(model, clock);
    runs.push(t);
    console.log(
      `  run ${r + 1}/${reps}: total ${t.total.toFixed(3)} s (transformer ${t.transformer.toFixed(3)} s of which attention ${t.attention.toFixed(3)} s ` +
        `in ${t.calls.var} calls; decode ${t.decode.toFixed(3)} s of which attention ${t.vaeAttention.toFixed(3)} s in ${t.calls.vae} calls); ` +
        `process CPU time: transformer ${t.cpuTransformer.toFixed(3)} s, decode ${t.cpuDecode.toFixed(3)} s`,
    );
  }
  const m = (k) => median(runs.map((r) => r[k]));
  const backends = runs[0].trace.summary();
  const rows = [
    ['transformer without attention (linear layers + head; sampling etc. uncounted)', m('transformerOnly'), tf.linear],
    ['attention (KV-cached, cpu backend, CFG batch 2)', m('attention'), tf.attention],
    ['VQ-VAE decode (post_quant_conv + decoder)', m('decode'), dec.flops],
    ['  of which decoder attention', m('vaeAttention'), undefined],
    ['total', m('total'), tf.linear + tf.attention + dec.flops],
  ];
  console.log(
    `median of ${reps} run(s)${warmup ? ' after one warm-up' : ', no warm-up'}; attention heads per backend: ${JSON.stringify(backends)}`,
  );
  console.log('| part | median s | GFLOP | GFLOP/s |\n|---|---|---|---|');
  for (const [part, s, flops] of rows) {
    const g = flops === undefined ? '' : (flops / 1e9).toFixed(flops < 1e9 ? 4 : 1);
    const rate = flops === undefined ? '' : (flops / s / 1e9).toFixed(2);
    console.log(`| ${part} | ${s.toFixed(s < 0.1 ? 4 : 3)} | ${g} | ${rate} |`);
  }
  return runs;
}

console.log(`machine: ${JSON.stringify(machine())}`);
const probe = await cpuBackend.probe();
console.log(`GEMM engine: ${activeEngineInfo().name}; cpu attention backend: ${probe.reason}`);
console.log(`generation: batch 1, ${JSON.stringify(GEN)}`);

if (!argv.includes('--skip-tiny')) {
  const { registry, clock } = timedRegistry();
  const model = await loadVAR({
    var: `${TINY}var.safetensors`,
    vae: `${TINY}vae.safetensors`,
    registry,
    policy: priorityPolicy(),
  });
  try {
    await bench('tiny fixture', model, clock, repsArg ?? 3, true);
  } finally {
    await model.dispose();
  }
}

if (!argv.includes('--skip-d16')) {
  const t0 = performance.now();
  const spec = releasedVARSpec(16);
  const varTensors = randomVARStateDict(spec);
  const vaeTensors = randomVQVAEStateDict(releasedVQVAEConfig());
  const { registry, clock } = timedRegistry();
  const model = await VARModel.fromStateDicts(
    { tensors: varTensors },
    { tensors: vaeTensors },
    { registry, policy: priorityPolicy() },
  );
  console.log(
    `\nbuilt a random VAR-d16 (VAR init, scale_mul = ln 4) and the official-shape VQ-VAE in memory in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  try {
    await bench('VAR-d16 (random weights), 256 px', model, clock, repsArg ?? 1, false);
  } finally {
    await model.dispose();
  }
}
process.exit(0); // the GEMM worker pool would otherwise keep the process alive
