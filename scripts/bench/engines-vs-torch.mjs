// One d16 256-px generation (batch 1, cfg 1.5, top-k 900, top-p 0.95) timed in ONE run on the WebAssembly engine, the
// ONNX Runtime engine and PyTorch+OpenBLAS, per stage: transformer dense work (everything but attention), the
// transformer's attention (KV-cached, cpu backend, through core's router/policy; in PyTorch the softmax(q·kᵀ)·v
// lines), and the VQ-VAE decode. Random weights at the released shapes (VAR-d16 + vae_ch160v4096z32), built in memory.
// Each engine runs in its own child process (so each one's peak RSS is its own); medians over --reps generations
// after one warm-up (which for the onnx engine also pins the weights into ONNX Runtime sessions: its time is shown).
// The machine and the load average (before and after) are printed: other jobs on the machine slow every column.
// Usage: pnpm build && node scripts/bench/engines-vs-torch.mjs [--reps 3] [--quick] [--engines wasm,onnx,torch]
//          [--threads N] [--json out.json]
//   --quick: one timed generation per engine, no warm-up (the onnx engine's first run then includes pinning).
// PyTorch: Debian's python3-torch with libopenblas0-pthread; the script tries python3 on PATH, then /usr/bin/python3.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine, median } from '@nextscale/bench-utils';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const flag = (name) => process.argv.includes(name);
const quick = flag('--quick');
const reps = Math.max(1, Number(arg('--reps', quick ? 1 : 3)));
const warmup = !quick;
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const GEN = { labels: [207], cfg: 1.5, topK: 900, topP: 0.95 };

if (flag('--child')) {
  await child(arg('--child'));
  process.exit(0); // worker pools would otherwise keep the process alive
}

// ------------------------------------------------------------------------------------------------ one engine (child)
async function child(engineId) {
  const core = await import('@nextscale/core');
  const { backend: cpuBackend } = await import('@nextscale/backend-cpu');
  // engine packages register themselves; a missing one makes loading the model fail with the package to install
  for (const pkg of ['@nextscale/engine-wasm/register', '@nextscale/engine-onnx/register']) {
    try {
      await import(pkg);
    } catch (e) {
      if (!/Cannot find (package|module)/.test(String(e?.message))) throw e;
    }
  }
  const clock = { stage: 'transformer', var: 0 };
  const timed = async (f) => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      if (clock.stage === 'transformer') clock.var += (performance.now() - t0) / 1000;
    }
  };
  // the cpu backend with its KV-state methods timed, in a private registry
  const registry = core.createRegistry();
  registry.register({
    ...cpuBackend,
    probe: () => cpuBackend.probe(),
    async create(o) {
      const inner = await cpuBackend.create(o);
      return {
        backendId: inner.backendId,
        attend: (q, k, v, spec) => inner.attend(q, k, v, spec),
        createState(so) {
          const s = inner.createState(so);
          return {
            get length() {
              return s.length;
            },
            append: (k, v) => timed(() => s.append(k, v)),
            attend: (q) => timed(() => s.attend(q)),
            dispose: () => s.dispose(),
          };
        },
        dispose: () => inner.dispose(),
      };
    },
  });
  const t0 = performance.now();
  const spec = core.releasedVARSpec(16);
  const model = await core.VARModel.fromStateDicts(
    { tensors: core.randomVARStateDict(spec) },
    { tensors: core.randomVQVAEStateDict(core.releasedVQVAEConfig()) },
    { registry, policy: core.priorityPolicy(), engine: engineId, threads },
  );
  const build = (performance.now() - t0) / 1000;
  const gen = async (seed) => {
    clock.stage = 'transformer';
    clock.var = 0;
    let tDecode = 0;
    const t1 = performance.now();
    await model.generate({ ...GEN, seed, onProgress: (e) => {
      if (e.stage === 'decode' && !tDecode) {
        tDecode = performance.now();
        clock.stage = 'decode';
      }
    } });
    const t2 = performance.now();
    const transformer = (tDecode - t1) / 1000;
    return { total: (t2 - t1) / 1000, transformer, attention: clock.var, dense: transformer - clock.var, decode: (t2 - tDecode) / 1000 };
  };
  const first = warmup ? await gen(100) : null;
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await gen(r));
  const engine = model.engine;
  await model.dispose();
  console.log(JSON.stringify({ engine, build, first, runs, maxRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }));
}

function runChild(engineId) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', engineId, '--reps', String(reps), '--threads', String(threads), ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
    env: { ...process.env, NEXTSCALE_THREADS: String(threads) },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ------------------------------------------------------------------------------------------------------------ PyTorch
// The same shapes and generation loop as scripts/bench/wasm-vs-torch.mjs (AdaLN blocks with a KV cache, l2-norm
// attention, guidance on [cond; uncond], top-k/top-p sampling, the multi-scale f_hat update, then the decoder), with
// the attention lines timed. Peak RSS from getrusage.
const TORCH_GEN = String.raw`
import json, sys, time, math, statistics, resource
import torch
import torch.nn.functional as F
spec = json.load(sys.stdin)
torch.manual_seed(0)
torch.set_num_threads(spec['threads'])
depth = 16; C = 64 * depth; H = depth; D = 64; V = 4096; Cv = 32
pns = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]; S = len(pns); L = sum(p * p for p in pns)
r = lambda *s, std=0.02: torch.randn(*s) * std
W = dict(class_emb=r(1001, C), pos_start=r(1, 1, C), pos=r(1, L, C), lvl=r(S, C), we=r(C, Cv), web=r(C),
         hada=r(2 * C, C), hadab=r(2 * C), head=r(V, C), headb=r(V), emb=r(V, Cv, std=0.5),
         phi=[(r(Cv, Cv, 3, 3, std=0.06), r(Cv)) for _ in range(4)], pq=(r(Cv, Cv, 3, 3, std=0.06), r(Cv)))
blocks = [dict(ada=r(6 * C, C), adab=r(6 * C), qkv=r(3 * C, C), qkvb=torch.cat([r(C), torch.zeros(C), r(C)]),
               proj=r(C, C), projb=r(C), fc1=r(4 * C, C), fc1b=r(4 * C), fc2=r(C, 4 * C), fc2b=r(C),
               sm=torch.full((1, H, 1, 1), math.log(4.0))) for _ in range(depth)]
lvl_idx = torch.cat([torch.full((p * p,), i) for i, p in enumerate(pns)])
def conv(c_in, c_out, k): return (torch.randn(c_out, c_in, k, k) / math.sqrt(c_in * k * k), torch.zeros(c_out))
def resnet(cin, cout): return dict(n1=cin, c1=conv(cin, cout, 3), n2=cout, c2=conv(cout, cout, 3), sc=conv(cin, cout, 1) if cin != cout else None)
def attnp(c): return dict(c=c, qkv=conv(c, 3 * c, 1), proj=conv(c, c, 1))
ch, mult, nres = 160, [1, 1, 2, 2, 4], 2
cmid = ch * mult[-1]
dec = dict(cin=conv(Cv, cmid, 3), mid=[resnet(cmid, cmid), attnp(cmid), resnet(cmid, cmid)], up=[], nout=ch, cout=conv(ch, 3, 3))
bin_ = cmid
for i in reversed(range(len(mult))):
    bout = ch * mult[i]; lvl = dict(blocks=[], attn=[], up=None)
    for j in range(nres + 1):
        lvl['blocks'].append(resnet(bin_, bout)); bin_ = bout
        if i == len(mult) - 1: lvl['attn'].append(attnp(bout))
    if i != 0: lvl['up'] = conv(bout, bout, 3)
    dec['up'].append(lvl)
def gn(x): return F.group_norm(x, 32, eps=1e-6)
def c2d(x, p, pad): return F.conv2d(x, p[0], p[1], padding=pad)
def res_fwd(x, p):
    h = c2d(F.silu(gn(x)), p['c1'], 1); h = c2d(F.silu(gn(h)), p['c2'], 1)
    return (c2d(x, p['sc'], 0) if p['sc'] is not None else x) + h
def attn_fwd(x, p):
    B, c, hh, ww = x.shape
    q, k, v = c2d(gn(x), p['qkv'], 0).view(B, 3, c, hh * ww).unbind(1)
    w = torch.softmax(torch.bmm(q.transpose(1, 2), k) * c ** -0.5, dim=2)
    return x + c2d(torch.bmm(v, w.transpose(1, 2)).view(B, c, hh, ww), p['proj'], 0)
def decode(z):
    h = c2d(z, dec['cin'], 1)
    h = res_fwd(h, dec['mid'][0]); h = attn_fwd(h, dec['mid'][1]); h = res_fwd(h, dec['mid'][2])
    for lvl in dec['up']:
        for j, b in enumerate(lvl['blocks']):
            h = res_fwd(h, b)
            if lvl['attn']: h = attn_fwd(h, lvl['attn'][j])
        if lvl['up'] is not None: h = c2d(F.interpolate(h, scale_factor=2, mode='nearest'), lvl['up'], 1)
    return c2d(F.silu(gn(h)), dec['cout'], 1).clamp(-1, 1)
def sample(logits, k, p):
    v, i = logits.topk(k, dim=-1)
    probs = torch.softmax(v, dim=-1)
    cum = probs.cumsum(-1); probs[(cum - probs) > p] = 0
    pick = torch.multinomial(probs.view(-1, k), 1).view(probs.shape[:-1])
    return i.gather(-1, pick.unsqueeze(-1)).squeeze(-1)
def generate(label, cfg, top_k, top_p):
    t0 = time.perf_counter(); att = 0.0
    cond = W['class_emb'][torch.tensor([label, 1000])]; cs = F.silu(cond)
    lvl_pos = W['lvl'][lvl_idx].unsqueeze(0) + W['pos']
    x = cond.unsqueeze(1) + W['pos_start'] + lvl_pos[:, :1]
    f_hat = torch.zeros(1, Cv, pns[-1], pns[-1]); cache = [[None, None] for _ in blocks]; cur = 0
    for si, pn in enumerate(pns):
        cur += pn * pn; n = pn * pn
        for bi, b in enumerate(blocks):
            g1, g2, s1, s2, sh1, sh2 = (cs @ b['ada'].t() + b['adab']).view(2, 1, 6, C).unbind(2)
            h = F.layer_norm(x, (C,), eps=1e-6) * (1 + s1) + sh1
            q, k, v = F.linear(h, b['qkv'], b['qkvb']).view(2, n, 3, H, D).permute(2, 0, 3, 1, 4).unbind(0)
            q = F.normalize(q, dim=-1) * b['sm'].exp(); k = F.normalize(k, dim=-1)
            ta = time.perf_counter()
            cache[bi][0] = k if cache[bi][0] is None else torch.cat([cache[bi][0], k], 2)
            cache[bi][1] = v if cache[bi][1] is None else torch.cat([cache[bi][1], v], 2)
            a = torch.softmax(q @ cache[bi][0].transpose(-1, -2), dim=-1) @ cache[bi][1]
            att += time.perf_counter() - ta
            x = x + F.linear(a.transpose(1, 2).reshape(2, n, C), b['proj'], b['projb']) * g1
            h = F.layer_norm(x, (C,), eps=1e-6) * (1 + s2) + sh2
            x = x + F.linear(F.gelu(F.linear(h, b['fc1'], b['fc1b']), approximate='tanh'), b['fc2'], b['fc2b']) * g2
        sc, sh = (cs @ W['hada'].t() + W['hadab']).view(2, 1, 2, C).unbind(2)
        logits = F.linear(F.layer_norm(x, (C,), eps=1e-6) * (1 + sc) + sh, W['head'], W['headb'])
        t = cfg * si / (S - 1)
        idx = sample((1 + t) * logits[:1] - t * logits[1:], top_k, top_p)
        h = W['emb'][idx].transpose(1, 2).reshape(1, Cv, pn, pn)
        phi = W['phi'][min(3, si * 4 // S)]
        if si != S - 1:
            h = F.interpolate(h, size=(pns[-1], pns[-1]), mode='bicubic')
        f_hat = f_hat + 0.5 * h + 0.5 * c2d(h, phi, 1)
        if si != S - 1:
            nxt = F.interpolate(f_hat, size=(pns[si + 1], pns[si + 1]), mode='area')
            x = (F.linear(nxt.view(1, Cv, -1).transpose(1, 2), W['we'], W['web']) + lvl_pos[:, cur:cur + pns[si + 1] ** 2]).repeat(2, 1, 1)
    t1 = time.perf_counter()
    img = decode(c2d(f_hat, W['pq'], 1))
    t2 = time.perf_counter()
    return dict(total=t2 - t0, transformer=t1 - t0, attention=att, dense=t1 - t0 - att, decode=t2 - t1)
g = spec['gen']
with torch.no_grad():
    first = generate(g['label'], g['cfg'], g['topK'], g['topP']) if spec['warmup'] else None
    runs = [generate(g['label'], g['cfg'], g['topK'], g['topP']) for _ in range(spec['reps'])]
blas = [l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()]
print(json.dumps(dict(engine=dict(id='torch', name='PyTorch %s, %d threads, %s' % (torch.__version__, torch.get_num_threads(), sorted(set(blas))[0] if blas else 'BLAS ?')),
                      first=first, runs=runs, maxRssMiB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
`;

function runTorch() {
  const payload = JSON.stringify({ reps, warmup, threads, gen: { label: GEN.labels[0], cfg: GEN.cfg, topK: GEN.topK, topP: GEN.topP } });
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) continue;
    const r = spawnSync(py, ['-c', TORCH_GEN], { input: payload, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) return { error: r.stderr.trim().split('\n').slice(-3).join(' | ') };
    return JSON.parse(r.stdout.trim().split('\n').pop());
  }
  return { error: 'no python3 with torch (apt-get install -y python3-torch libopenblas0-pthread)' };
}

// ------------------------------------------------------------------------------------------------------------ parent
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const wanted = String(arg('--engines', 'wasm,onnx,torch')).split(',');
console.log(`machine: ${JSON.stringify(machine())}`);
console.log(`generation: d16 random weights, 256 px, batch 1, ${JSON.stringify(GEN)}; ${threads} threads everywhere; ` +
  `${reps} timed run(s)${warmup ? ' after one warm-up' : ', no warm-up (--quick)'}`);
const loadBefore = load();
const results = {};
for (const id of wanted) {
  process.stderr.write(`timing ${id}…\n`);
  results[id] = id === 'torch' ? runTorch() : runChild(id);
  // each engine's raw result as soon as it is there (a long run cut short still leaves what it measured)
  process.stderr.write(`${id}: ${JSON.stringify(results[id])}\n`);
}
const loadAfter = load();
console.log(`load average (1, 5, 15 min): before ${loadBefore}, after ${loadAfter}`);
const ok = wanted.filter((id) => !results[id].error);
for (const id of wanted) {
  const r = results[id];
  if (r.error) console.log(`${id}: FAILED: ${r.error}`);
  else console.log(`${id}: ${r.engine.name}${r.build ? `; model built in ${r.build.toFixed(1)} s` : ''}; peak RSS ${(r.maxRssMiB / 1024).toFixed(2)} GiB` +
    (r.first ? `; warm-up run ${r.first.total.toFixed(2)} s` : ''));
}
const STAGES = [
  ['transformer dense (all but attention)', 'dense'],
  ['transformer attention (KV-cached)', 'attention'],
  ['VQ-VAE decode', 'decode'],
  ['total', 'total'],
];
const med = (id, k) => median(results[id].runs.map((x) => x[k]));
const ratioCols = ok.filter((id) => id !== 'torch' && ok.includes('torch'));
console.log(`\n| stage (median s) | ${ok.join(' | ')} |${ratioCols.map((id) => ` ${id} ÷ torch |`).join('')}`);
console.log(`|---|${ok.map(() => '---|').join('')}${ratioCols.map(() => '---|').join('')}`);
for (const [label, k] of STAGES) {
  const cells = ok.map((id) => med(id, k).toFixed(2));
  const ratios = ratioCols.map((id) => (med(id, k) / med('torch', k)).toFixed(2));
  console.log(`| ${label} | ${cells.join(' | ')} |${ratios.map((x) => ` ${x} |`).join('')}`);
}
console.log(`| peak RSS GiB | ${ok.map((id) => (results[id].maxRssMiB / 1024).toFixed(2)).join(' | ')} |${ratioCols.map(() => ' |').join('')}`);
if (arg('--json')) writeFileSync(arg('--json'), JSON.stringify({ machine: machine(), loadBefore, loadAfter, GEN, threads, reps, warmup, results }, null, 2));
