"""Stage 2: tokenize Fashion-MNIST with the trained VQ-VAE, then train the class-conditional VAR transformer
with l2-normalised attention whose per-head temperature is capped at beta_cap (bounded-entry by construction).

    python3 tools/train/train_var.py --n_images 24000 --steps 2000 --bs 64
reads tools/train/out/vae.pt, caches tokens in tools/train/out/tokens_<n>.pt, writes tools/train/out/var.pt,
logs to tools/train/out/var.log.
"""
import os
# Under CPU oversubscription, OpenBLAS's own spinning thread pool and OpenMP's active waiting slow torch down
# by 3-10x on this machine; one BLAS thread and passive OpenMP waiting avoid that. Must precede `import torch`.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_vqvae import VAE_CFG  # noqa: E402
from varlib import OUT_DIR, PATCH_NUMS, VAR, VQVAE, load_fashion_mnist, seed_everything, to_model_images  # noqa: E402

VAR_CFG = dict(num_classes=10, depth=4, embed_dim=64, num_heads=4, mlp_ratio=4.0, norm_eps=1e-6,
               cond_drop_rate=0.1, patch_nums=PATCH_NUMS, beta_cap=0.2)


def load_vae():
    vae = VQVAE(**VAE_CFG)
    vae.load_state_dict(torch.load(os.path.join(OUT_DIR, 'vae.pt')), strict=True)
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae


def tokenize(vae, imgs, labels, n, seed, P):
    path = os.path.join(OUT_DIR, f'tokens_{n}.pt')
    if os.path.exists(path):
        return torch.load(path)
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randperm(len(imgs), generator=g)[:n].sort().values.numpy()
    idx_all, x_all = [], []
    t0 = time.time()
    bs = 200
    with torch.no_grad():
        for i in range(0, n, bs):
            x = to_model_images(imgs[ids[i:i + bs]]).contiguous(memory_format=torch.channels_last)
            idx = vae.img_to_idxBl(x)
            idx_all.append(torch.cat(idx, 1).to(torch.int16))
            x_all.append(vae.quantize.idxBl_to_var_input(idx).to(torch.float32))
            if (i // bs) % 10 == 0:
                P(f'  tokenized {i + bs}/{n} t {time.time() - t0:.0f}s')
    d = dict(ids=torch.from_numpy(ids), labels=torch.from_numpy(labels[ids]), idx=torch.cat(idx_all), x=torch.cat(x_all))
    torch.save(d, path)
    P(f'tokenized {n} images in {time.time() - t0:.0f}s')
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n_images', type=int, default=24000)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--wd', type=float, default=0.05)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--tokenize_only', action='store_true')
    ap.add_argument('--stop_at', type=int, default=0, help='end after this step (the schedule still follows --steps)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    log = open(os.path.join(OUT_DIR, 'var.log'), 'a')

    def P(*a):
        s = ' '.join(str(x) for x in a)
        print(s, flush=True)
        log.write(s + '\n')
        log.flush()

    P('args', json.dumps(vars(args)), 'cfg', json.dumps(VAR_CFG))
    vae = load_vae()
    imgs, labels = load_fashion_mnist('train')
    data = tokenize(vae, imgs, labels, args.n_images, args.seed, P)
    if args.tokenize_only:
        return
    N = len(data['labels'])
    V = VAE_CFG['vocab_size']
    seed_everything(args.seed)
    var = VAR(vae, **VAR_CFG)
    var.init_weights(init_adaln=0.5, init_adaln_gamma=1e-5, init_head=0.02, init_std=-1)
    P('var params', sum(p.numel() for p in var.parameters()))
    decay, no_decay = [], []
    for n_, p in var.named_parameters():
        (no_decay if (p.ndim <= 1 or 'scale_mul' in n_ or n_ in ('pos_start', 'pos_1LC') or 'emb' in n_) else decay).append(p)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.wd}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(args.seed + 2)
    perm = torch.randperm(N, generator=g)
    pos = 0
    warm = max(1, args.steps // 20)
    L = var.L
    t0 = time.time()
    ema_loss = None
    begin_ends = var.begin_ends
    for step in range(1, args.steps + 1):
        if step <= warm:
            lr = args.lr * step / warm
        else:
            lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warm) / (args.steps - warm))))
        for pg in opt.param_groups:
            pg['lr'] = lr
        if pos + args.bs > N:
            perm = torch.randperm(N, generator=g)
            pos = 0
        b = perm[pos:pos + args.bs]
        pos += args.bs
        lab = data['labels'][b]
        x = data['x'][b]
        tgt = data['idx'][b].long()
        var.train()
        logits = var(lab, x)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(var.parameters(), 2.0)
        opt.step()
        ema_loss = loss.item() if ema_loss is None else 0.98 * ema_loss + 0.02 * loss.item()
        if step % 25 == 0 or step == 1:
            with torch.no_grad():
                per = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), reduction='none').view(len(b), L)
                per_scale = [round(per[:, a:e].mean().item(), 3) for a, e in begin_ends]
                sm = [round(math.exp(min(bl.attn.scale_mul_1H11.max().item(), 50)), 3) for bl in var.blocks]
            P(f'step {step}/{args.steps} lr {lr:.2e} loss {loss.item():.4f} ema {ema_loss:.4f} gn {gn:.2f} '
              f'per-scale {per_scale} max exp(scale_mul) per block {sm} t {time.time() - t0:.0f}s')
        last = step == args.steps or step == args.stop_at
        if step % 100 == 0 or last:
            torch.save(var.state_dict(), os.path.join(OUT_DIR, 'var.pt'))
        if last:
            break
    P(f'done in {time.time() - t0:.0f}s; final ema loss {ema_loss:.4f}')


if __name__ == '__main__':
    main()
