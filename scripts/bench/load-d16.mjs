// Loading a released-size checkpoint: writes a random VAR-d16 (310M parameters, the released key set with
// lvl_1L as int64) and the official-shape VQ-VAE (vae_ch160v4096z32) as safetensors into a temp dir, one
// tensor at a time, then loads them with loadVAR in a fresh child process that samples its memory every
// ~50 ms. It reports file sizes, load time and peak RSS against the file size (the loader reads each
// tensor into its own buffer: no whole-file read on top of the model), and fails if fs.readFile /
// readFileSync / fs.promises.readFile / FileHandle.readFile is called during the load. Temp files are removed.
// Usage: pnpm build && node scripts/bench/load-d16.mjs [--depth 16] [--keep]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const MiB = 2 ** 20;
const fmtMiB = (b) => `${(b / MiB).toFixed(0)} MiB`;

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await parent();

async function parent() {
  const {
    countStateDict,
    randomVARStateDictEntries,
    randomVQVAEStateDictEntries,
    releasedVARSpec,
    releasedVQVAEConfig,
  } = await import('@nextscale/core/models');
  const { writeSafetensors } = await import('@nextscale/core/weights');
  const { activeEngineInfo } = await import('@nextscale/core/engines');
  const { machine } = await import('@nextscale/bench-utils');
  const depth = Number(arg('--depth', '16'));
  console.log(`machine: ${JSON.stringify(machine())}; GEMM engine: ${activeEngineInfo().name}`);

  const dir = fs.mkdtempSync(join(os.tmpdir(), 'nextscale-load-d16-'));
  const cleanup = () => {
    if (!process.argv.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const varEntries = randomVARStateDictEntries(releasedVARSpec(depth));
    const vaeEntries = randomVQVAEStateDictEntries(releasedVQVAEConfig());
    const varCounts = countStateDict(varEntries);
    const vaeCounts = countStateDict(vaeEntries);
    const varPath = join(dir, `var_d${depth}.safetensors`);
    const vaePath = join(dir, 'vae_ch160v4096z32.safetensors');

    let t0 = performance.now();
    // No metadata, like the released files: the loader infers the 256-px schedule from L = 680.
    const w1 = await writeSafetensors(varPath, varEntries);
    const w2 = await writeSafetensors(vaePath, vaeEntries);
    const writeS = (performance.now() - t0) / 1000;
    const writerPeak = process.resourceUsage().maxRSS * 1024;
    console.log(
      `wrote VAR-d${depth} (${varCounts.entries} tensors, ${varCounts.parameters.toLocaleString('en-US')} parameters): ${fmtMiB(w1.bytes)}; ` +
        `VQ-VAE (${vaeCounts.entries} tensors, ${vaeCounts.parameters.toLocaleString('en-US')} parameters): ${fmtMiB(w2.bytes)}; ` +
        `${writeS.toFixed(1)} s; writer peak RSS ${fmtMiB(writerPeak)} (streamed: far below the ${fmtMiB(w1.bytes + w2.bytes)} written)`,
    );

    t0 = performance.now();
    const out = await new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', varPath, vaePath], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.on('error', reject);
      p.on('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`load child exited with ${code}:\n${text}`)),
      );
    });
    const r = JSON.parse(out.trim().split('\n').at(-1));
    const fileBytes = w1.bytes + w2.bytes;
    const modelBytes = r.modelBytes;
    console.log(`loadVAR in a fresh process (child wall ${((performance.now() - t0) / 1000).toFixed(1)} s):`);
    console.log('| quantity | value |\n|---|---|');
    const rows = [
      ['files (VAR + VAE)', `${fmtMiB(fileBytes)} (${fmtMiB(w1.bytes)} + ${fmtMiB(w2.bytes)})`],
      ['float32 tensors held after load', fmtMiB(modelBytes)],
      ['load time (loadVAR)', `${r.loadS.toFixed(2)} s (${(fileBytes / MiB / r.loadS).toFixed(0)} MiB/s)`],
      ['RSS before load (imports, no weights)', fmtMiB(r.baseRss)],
      ['peak RSS sampled every ~50 ms', `${fmtMiB(r.peakRss)} (samples: ${r.samples})`],
      ['peak RSS, process.resourceUsage().maxRSS', fmtMiB(r.maxRss)],
      ['peak arrayBuffers / heapUsed sampled', `${fmtMiB(r.peakArrayBuffers)} / ${fmtMiB(r.peakHeap)}`],
      ['(maxRSS − RSS before) / file size', `${((r.maxRss - r.baseRss) / fileBytes).toFixed(3)}`],
      ['RSS after load', fmtMiB(r.endRss)],
      ['fs.readFile-family calls during load', String(r.readFileCalls.length)],
      ['config', r.config],
    ];
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
    if (r.readFileCalls.length) throw new Error(`the loader used ${r.readFileCalls.join(', ')}`);
    const ratio = (r.maxRss - r.baseRss) / fileBytes;
    const verdict =
      ratio < 1.5
        ? 'OK: the files were not read whole on top of the model'
        : 'SUSPICIOUS: peak memory well above one copy of the weights';
    console.log(
      `${verdict} (peak growth ${ratio.toFixed(2)}× the file size; a whole-file read on top of the tensors would be ≥ 2×)`,
    );
  } finally {
    cleanup();
  }
}

async function child(varPath, vaePath) {
  // Every whole-file read API throws (and is recorded) while the weights load.
  const calls = [];
  let armed = false;
  const trap = (obj, name, label) => {
    const orig = obj[name];
    obj[name] = function (...args) {
      if (armed) {
        calls.push(label);
        throw new Error(`${label} called during load (${String(args[0])})`);
      }
      return orig.apply(this, args);
    };
  };
  trap(fs, 'readFile', 'fs.readFile');
  trap(fs, 'readFileSync', 'fs.readFileSync');
  trap(fs.promises, 'readFile', 'fs.promises.readFile');
  const probe = await fs.promises.open(fileURLToPath(import.meta.url), 'r');
  trap(Object.getPrototypeOf(probe), 'readFile', 'FileHandle.readFile');
  await probe.close();
  syncBuiltinESMExports(); // named ESM imports of node:fs see the traps too

  // Self-check: each way a library could read a whole file is caught while armed.
  {
    const self = fileURLToPath(import.meta.url);
    const { readFileSync } = await import('node:fs');
    const fsp = await import('node:fs/promises');
    const h = await fs.promises.open(self, 'r');
    armed = true;
    const attempts = [
      () => fs.readFileSync(self),
      () => readFileSync(self),
      () => fsp.readFile(self),
      () => fs.promises.readFile(self),
      () => h.readFile(),
    ];
    let caught = 0;
    for (const f of attempts) {
      try {
        await f();
      } catch {
        caught++;
      }
    }
    armed = false;
    await h.close();
    if (caught !== attempts.length)
      throw new Error(`readFile trap self-check: only ${caught}/${attempts.length} whole-file reads were caught`);
    calls.length = 0;
  }

  const { loadVAR } = await import('@nextscale/core');
  await import('@nextscale/backend-cpu/register');
  await import('@nextscale/engine-wasm/register'); // loadVAR then computes on the WebAssembly engine, as the CLI does
  globalThis.gc?.();
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  let peakHeap = 0;
  let peakArrayBuffers = 0;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    samples++;
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 50);
  armed = true;
  const t0 = performance.now();
  let model;
  try {
    model = await loadVAR({ var: varPath, vae: vaePath });
  } finally {
    armed = false;
  }
  const loadS = (performance.now() - t0) / 1000;
  clearInterval(timer);
  sample();
  let modelBytes = 0;
  // What the pipeline holds: every VQ-VAE and VAR tensor loaded (the same Float32Arrays the loader produced).
  const seen = new Set();
  const walk = (o, depthLeft) => {
    if (!o || typeof o !== 'object' || depthLeft < 0 || seen.has(o)) return;
    seen.add(o);
    if (o instanceof Float32Array) {
      if (!seen.has(o.buffer)) {
        seen.add(o.buffer);
        modelBytes += o.buffer.byteLength;
      }
      return;
    }
    if (ArrayBuffer.isView(o)) return;
    for (const v of o instanceof Map ? o.values() : Object.values(o)) walk(v, depthLeft - 1);
  };
  walk(model.transformer, 8);
  walk(model.vae.model, 10);
  const c = model.config;
  const config = `depth ${c.depth}, C ${c.embedDim}, heads ${c.numHeads}, V ${c.vocabSize}, patchNums from ${c.patchNumsSource} (L = ${c.tokenCount})`;
  const endRss = process.memoryUsage().rss;
  await model.dispose();
  console.log(
    JSON.stringify({
      loadS,
      baseRss,
      peakRss,
      maxRss: process.resourceUsage().maxRSS * 1024,
      peakHeap,
      peakArrayBuffers,
      endRss,
      samples,
      modelBytes,
      readFileCalls: calls,
      config,
    }),
  );
  process.exit(0); // the GEMM worker pool would otherwise keep the process alive
}
