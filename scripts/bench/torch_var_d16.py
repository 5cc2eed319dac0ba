# A PyTorch model of the same shapes as the released VAR-d16 (or d{depth}: d36 with the 512-px schedule and shared
# AdaLN) and its VQ-VAE (vae_ch160v4096z32), random weights,
# generating one image the way nextscale does: per scale, `depth` AdaLN blocks over that scale's tokens with a KV
# cache, l2-norm attention, guidance on [cond; uncond], top-k/top-p sampling, the multi-scale f_hat update, then the
# VQ-VAE decoder. The baseline of scripts/bench/engines-vs-torch.mjs and scripts/bench/wasm-vs-torch.mjs (one copy).
#
# Input (JSON on stdin): {"reps": n, "warmup": bool, "threads": n, "gen": {"label", "cfg", "topK", "topP", "batch"?},
#   "files"?: {"var": path, "vae": path}, "depth"?: 16}. batch B (default 1) generates B images (classes label, label+1, …) with the
#   CFG batch of 2B rows. With "files" (the cold benchmark) the two safetensors files are read into torch tensor by
#   tensor and the VAR blocks and head take the file's weights (the rest of the random model stays: same shapes, same
#   work).
# Output (one JSON line): {"engine": {"id", "name"}, "version", "threads", "blas_libraries", "first", "runs", "load",
#   "cpuS" (user + sys, whole process), "maxRssMiB"}
#   runs[i] = {"total", "transformer", "attention", "dense", "decode"} in seconds (attention = the softmax(q·kᵀ)·v
#   lines with the KV-cache concatenation; dense = transformer − attention); maxRssMiB from getrusage.
# Run with a python that has torch (Debian: /usr/bin/python3 with python3-torch + libopenblas0-pthread).
import json, sys, time, math, statistics, resource, struct
import torch
import torch.nn.functional as F
spec = json.load(sys.stdin)
torch.manual_seed(0)
torch.set_num_threads(spec['threads'])
depth = spec.get('depth', 16); C = 64 * depth; H = depth; D = 64; V = 4096; Cv = 32
# the released schedules: 256 px for d16 … d30, 512 px with shared AdaLN for d36 (var_d36.pth)
shared = depth == 36
pns = [1, 2, 3, 4, 6, 9, 13, 18, 24, 32] if shared else [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]; S = len(pns); L = sum(p * p for p in pns)
r = lambda *s, std=0.02: torch.randn(*s) * std
def read_safetensors(path, wanted=None):
    """The file's tensors (those named in `wanted`, or all), each read straight into its own tensor (no whole-file read)."""
    import numpy as np
    dt = {'F32': torch.float32, 'I64': torch.int64, 'F16': torch.float16, 'BF16': torch.bfloat16}
    out = {}
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]; header = json.loads(f.read(n))
        for k, v in header.items():
            if k == '__metadata__' or (wanted is not None and k not in wanted): continue
            t = torch.empty(v['shape'], dtype=dt[v['dtype']])
            f.seek(8 + n + v['data_offsets'][0])
            f.readinto(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
            out[k] = t
    return out
names = dict(qkv='attn.mat_qkv.weight', proj='attn.proj.weight', projb='attn.proj.bias',
             fc1='ffn.fc1.weight', fc1b='ffn.fc1.bias', fc2='ffn.fc2.weight', fc2b='ffn.fc2.bias')
names.update(dict(gss='ada_gss') if shared else dict(ada='ada_lin.1.weight', adab='ada_lin.1.bias'))
def random_block():
    b = dict(qkv=r(3 * C, C), proj=r(C, C), projb=r(C), fc1=r(4 * C, C), fc1b=r(4 * C), fc2=r(C, 4 * C), fc2b=r(C))
    b.update(dict(gss=r(1, 1, 6, C)) if shared else dict(ada=r(6 * C, C), adab=r(6 * C)))
    return b
load_s = None
if spec.get('files'):
    # The cold benchmark: the VAR blocks, the shared AdaLN and the head take the file's weights (the embeddings and the
    # decoder stay random: same shapes, same work); the VQ-VAE file is read too, as a real run would.
    t_load = time.perf_counter()
    wanted = {'blocks.%d.%s' % (i, n) for i in range(depth) for n in names.values()}
    wanted |= {'head.weight', 'head.bias', 'shared_ada_lin.1.weight', 'shared_ada_lin.1.bias'}
    sd = read_safetensors(spec['files']['var'], wanted); read_safetensors(spec['files']['vae'])
    blocks = [{k: sd.pop('blocks.%d.%s' % (i, n)).float() for k, n in names.items()} for i in range(depth)]
    head = (sd.pop('head.weight'), sd.pop('head.bias'))
    sada = (sd.pop('shared_ada_lin.1.weight'), sd.pop('shared_ada_lin.1.bias')) if shared else None
    load_s = time.perf_counter() - t_load
else:
    blocks = [random_block() for _ in range(depth)]
    head = (r(V, C), r(V))
    sada = (r(6 * C, C), r(6 * C)) if shared else None
for b in blocks:
    b['qkvb'] = torch.cat([r(C), torch.zeros(C), r(C)]); b['sm'] = torch.full((1, H, 1, 1), math.log(4.0))
W = dict(class_emb=r(1001, C), pos_start=r(1, 1, C), pos=r(1, L, C), lvl=r(S, C), we=r(C, Cv), web=r(C),
         hada=r(2 * C, C), hadab=r(2 * C), head=head[0], headb=head[1], emb=r(V, Cv, std=0.5),
         phi=[(r(Cv, Cv, 3, 3, std=0.06), r(Cv)) for _ in range(4)], pq=(r(Cv, Cv, 3, 3, std=0.06), r(Cv)))
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
def generate(label, cfg, top_k, top_p, B):
    t0 = time.perf_counter(); att = 0.0; N = 2 * B
    cond = W['class_emb'][torch.tensor([(label + i) % 1000 for i in range(B)] + [1000] * B)]; cs = F.silu(cond)
    lvl_pos = W['lvl'][lvl_idx].unsqueeze(0) + W['pos']
    x = cond.unsqueeze(1) + W['pos_start'] + lvl_pos[:, :1]
    f_hat = torch.zeros(B, Cv, pns[-1], pns[-1]); cache = [[None, None] for _ in blocks]; cur = 0
    for si, pn in enumerate(pns):
        cur += pn * pn; n = pn * pn
        ada = (cs @ sada[0].t() + sada[1]).view(N, 1, 6, C) if shared else None
        for bi, b in enumerate(blocks):
            g1, g2, s1, s2, sh1, sh2 = (b['gss'] + ada if shared else (cs @ b['ada'].t() + b['adab']).view(N, 1, 6, C)).unbind(2)
            h = F.layer_norm(x, (C,), eps=1e-6) * (1 + s1) + sh1
            q, k, v = F.linear(h, b['qkv'], b['qkvb']).view(N, n, 3, H, D).permute(2, 0, 3, 1, 4).unbind(0)
            q = F.normalize(q, dim=-1) * b['sm'].exp(); k = F.normalize(k, dim=-1)
            ta = time.perf_counter()
            cache[bi][0] = k if cache[bi][0] is None else torch.cat([cache[bi][0], k], 2)
            cache[bi][1] = v if cache[bi][1] is None else torch.cat([cache[bi][1], v], 2)
            a = torch.softmax(q @ cache[bi][0].transpose(-1, -2), dim=-1) @ cache[bi][1]
            att += time.perf_counter() - ta
            x = x + F.linear(a.transpose(1, 2).reshape(N, n, C), b['proj'], b['projb']) * g1
            h = F.layer_norm(x, (C,), eps=1e-6) * (1 + s2) + sh2
            x = x + F.linear(F.gelu(F.linear(h, b['fc1'], b['fc1b']), approximate='tanh'), b['fc2'], b['fc2b']) * g2
        sc, sh = (cs @ W['hada'].t() + W['hadab']).view(N, 1, 2, C).unbind(2)
        logits = F.linear(F.layer_norm(x, (C,), eps=1e-6) * (1 + sc) + sh, W['head'], W['headb'])
        t = cfg * si / (S - 1)
        idx = sample((1 + t) * logits[:B] - t * logits[B:], top_k, top_p)
        h = W['emb'][idx].transpose(1, 2).reshape(B, Cv, pn, pn)
        phi = W['phi'][min(3, si * 4 // S)]
        if si != S - 1:
            h = F.interpolate(h, size=(pns[-1], pns[-1]), mode='bicubic')
        f_hat = f_hat + 0.5 * h + 0.5 * c2d(h, phi, 1)
        if si != S - 1:
            nxt = F.interpolate(f_hat, size=(pns[si + 1], pns[si + 1]), mode='area')
            x = (F.linear(nxt.view(B, Cv, -1).transpose(1, 2), W['we'], W['web']) + lvl_pos[:, cur:cur + pns[si + 1] ** 2]).repeat(2, 1, 1)
    t1 = time.perf_counter()
    img = decode(c2d(f_hat, W['pq'], 1))
    t2 = time.perf_counter()
    return dict(total=t2 - t0, transformer=t1 - t0, attention=att, dense=t1 - t0 - att, decode=t2 - t1)
g = spec['gen']
with torch.no_grad():
    args = (g['label'], g['cfg'], g['topK'], g['topP'], g.get('batch', 1))
    first = generate(*args) if spec['warmup'] else None
    runs = [generate(*args) for _ in range(spec['reps'])]
blas = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()})
usage = resource.getrusage(resource.RUSAGE_SELF)  # all of the process's threads (OpenBLAS's, oneDNN's included)
print(json.dumps(dict(engine=dict(id='torch', name='PyTorch %s, %d threads, %s' % (torch.__version__, torch.get_num_threads(), blas[0] if blas else 'BLAS ?')),
                      version=torch.__version__, threads=torch.get_num_threads(), blas_libraries=blas,
                      first=first, runs=runs, load=load_s, cpuS=usage.ru_utime + usage.ru_stime, maxRssMiB=usage.ru_maxrss / 1024)))
