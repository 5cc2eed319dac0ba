import { encodeModel, encodeModelExternal, sessionOptions, resolveOrt } from '@nextscale/engine-onnx';
const ort = await import(resolveOrt());
const kind = process.argv[2];
const C = 1024, O = 6 * C;
const rnd = (n) => Float32Array.from({ length: n }, () => Math.random() * 0.02 - 0.01);
const tr = (w, outF, inF) => { const t = new Float32Array(w.length); for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) t[i * outF + o] = w[o * inF + i]; return t; };
const rss = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
const keep = [];
const cpu = { threads: 2, memArena: false, spinning: false, prepack: true };
for (let b = 0; b < 6; b++) {
  const w = rnd(O * C);
  const fold = kind.includes('fold');
  const spec = {
    name: 'l', opset: 18,
    nodes: [...(fold ? [{ opType: 'Transpose', inputs: ['W'], outputs: ['Wt'], attributes: { perm: { ints: [1, 0] } } }] : []), { opType: 'MatMul', inputs: ['x', 'Wt'], outputs: ['y'] }],
    inputs: [{ name: 'x', elemType: 1, dims: ['r', C] }], outputs: [{ name: 'y', elemType: 1, dims: ['r', O] }],
    initializers: [fold ? { name: 'W', dataType: 1, dims: [O, C], data: w } : { name: 'Wt', dataType: 1, dims: [C, O], data: tr(w, O, C) }],
  };
  const g = kind.includes('ext') ? encodeModelExternal(spec) : { bytes: encodeModel(spec) };
  keep.push(await ort.InferenceSession.create(g.bytes, sessionOptions({ executionProviders: ['cpu'], cpu }, { optimization: 'basic', ...(g.externalData ? { externalData: g.externalData } : {}) })));
  globalThis.gc();
}
console.log(`${kind}: after 6 linear 1024→6144 sessions + gc: rss ${rss()} MiB`);
