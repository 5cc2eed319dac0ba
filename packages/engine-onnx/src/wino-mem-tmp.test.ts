import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeModel, FLOAT } from './onnx-proto.js';
import { loadOrt } from './node.js';
import { winogradConv } from './winograd.js';
import { sessionOptions } from './session-options.js';
const rss = () => (Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024).toFixed(0) + ' MB';
it('mem', async () => {
  const r = await loadOrt(); const ort = r.ok ? (r.ort as any) : null;
  const settings = { executionProviders: ['cpu'], cpu: { threads: 2, memArena: process.env.AR === '1', spinning: false, prepack: true } };
  const [ci, co, h] = [160, 160, 256];
  const W = new Float32Array(co * ci * 9).fill(0.01);
  const n = Number(process.env.NC ?? 8);
  const io = { inputs: [{ name: 'x', elemType: FLOAT, dims: [1, ci, h, h] }], outputs: [{ name: 'y', elemType: FLOAT, dims: [1, co, h, h] }] };
  const nodes: any[] = [], inits: any[] = [];
  for (let i = 0; i < n; i++) { const g = winogradConv(4, i ? `v${i}` : 'x', i === n - 1 ? 'y' : `v${i + 1}`, `w${i}`, { weight: W, bias: null, outChannels: co, inChannels: ci, height: h, width: h }); nodes.push(...g.nodes); inits.push(...g.initializers); }
  const bytes = encodeModel({ name: 'w', ...io, nodes, initializers: inits });
  console.log('start', rss());
  const s = await ort.InferenceSession.create(bytes, sessionOptions(settings as any, { optimization: 'basic' })); console.log('created', rss());
  const X = new Float32Array(ci * h * h);
  for (let i = 0; i < 2; i++) { await s.run({ x: new ort.Tensor('float32', X, [1, ci, h, h]) }); console.log('ran', rss()); }
}, 600000);
