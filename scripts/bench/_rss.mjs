import { pathToFileURL } from 'node:url';
const dist = process.argv[2];
const kind = process.argv[3];
const { transformerBlockGraph, linearGraph, sessionOptions, resolveOrt } = await import(pathToFileURL(dist).href);
const ort = await import(resolveOrt());
const C = 1024, H = 16, hd = 64, hidden = 4096;
const rnd = (n) => Float32Array.from({ length: n }, () => Math.random() * 0.02 - 0.01);
const rss = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
const keep = [];
const cpu = { threads: 2, memArena: false, spinning: false, prepack: true };
console.log(`${kind} ${dist}: start rss ${rss()} MiB`);
for (let b = 0; b < 6; b++) {
  let g;
  if (kind === 'block') {
    const w = { qkvWeight: rnd(3 * C * C), qkvBias: rnd(3 * C), qScale: rnd(H).map(() => 1), projWeight: rnd(C * C), projBias: rnd(C), fc1Weight: rnd(hidden * C), fc1Bias: rnd(hidden), fc2Weight: rnd(C * hidden), fc2Bias: rnd(C) };
    g = transformerBlockGraph(w, { width: C, heads: H, headDim: hd, hidden, eps: 1e-6, scale: 1 });
  } else g = linearGraph(rnd(6 * C * C), 6 * C, C, rnd(6 * C));
  keep.push(await ort.InferenceSession.create(g.bytes, sessionOptions({ executionProviders: ['cpu'], cpu }, { optimization: g.optimization, ...(g.externalData ? { externalData: g.externalData } : {}) })));
  g = null;
  globalThis.gc();
}
console.log(`after 6 sessions + gc: rss ${rss()} MiB, external ${(process.memoryUsage().external / 2 ** 20).toFixed(0)} MiB`);
