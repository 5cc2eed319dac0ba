"""Stage 1: train the multi-scale VQ-VAE on Fashion-MNIST (32x32, zero-padded, RGB-replicated, [-1,1]).

    python3 tools/train/train_vqvae.py --steps 800
writes tools/train/out/vae.pt (state_dict) and logs to tools/train/out/vqvae.log.
"""
import os
# Under CPU oversubscription, OpenBLAS's own spinning thread pool and OpenMP's active waiting slow torch down
# by 3-10x on this machine; one BLAS thread and passive OpenMP waiting avoid that. Must precede `import torch`.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlib import OUT_DIR, PATCH_NUMS, VQVAE, load_fashion_mnist, seed_everything, to_model_images  # noqa: E402

VAE_CFG = dict(vocab_size=256, z_channels=8, ch=32, ch_mult=(1, 1, 2), num_res_blocks=2, beta=0.25,
               quant_resi=0.5, share_quant_resi=4, v_patch_nums=PATCH_NUMS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=700)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--restart_every', type=int, default=25)
    ap.add_argument('--stop_at', type=int, default=0, help='end after this step (the schedule still follows --steps)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    os.makedirs(OUT_DIR, exist_ok=True)
    log = open(os.path.join(OUT_DIR, 'vqvae.log'), 'a')

    def P(*a):
        s = ' '.join(str(x) for x in a)
        print(s, flush=True)
        log.write(s + '\n')
        log.flush()

    P('args', json.dumps(vars(args)), 'cfg', json.dumps(VAE_CFG))
    imgs, labels = load_fashion_mnist('train')
    g = torch.Generator().manual_seed(args.seed)
    perm = torch.randperm(len(imgs), generator=g)
    te_imgs, _ = load_fashion_mnist('test')
    x_val = to_model_images(te_imgs[:256]).contiguous(memory_format=torch.channels_last)

    vae = VQVAE(**VAE_CFG)
    # codebook init: small, spread
    torch.nn.init.normal_(vae.quantize.embedding.weight, std=0.5)
    vae = vae.to(memory_format=torch.channels_last)
    vae.train()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.0)
    warm = 50
    t0 = time.time()
    pos = 0
    V = VAE_CFG['vocab_size']
    for step in range(1, args.steps + 1):
        lr = args.lr * min(1.0, step / warm)
        if step > 0.75 * args.steps:  # linear decay over the last quarter
            lr = args.lr * max(0.05, (args.steps - step) / (0.25 * args.steps))
        for pg in opt.param_groups:
            pg['lr'] = lr
        if pos + args.bs > len(perm):
            perm = torch.randperm(len(imgs), generator=g)
            pos = 0
        ids = perm[pos:pos + args.bs].numpy()
        pos += args.bs
        x = to_model_images(imgs[ids]).contiguous(memory_format=torch.channels_last)
        rec, vq_loss, hits, rests = vae(x)
        rec_loss = F.mse_loss(rec, x) + 0.5 * F.l1_loss(rec, x)
        loss = rec_loss + vq_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 2.0)
        opt.step()
        # codebook restarts: codes that no scale has used recently are re-seeded from current residuals
        n_dead = 0
        if step % args.restart_every == 0 and step <= 0.8 * args.steps:
            with torch.no_grad():
                use = vae.quantize.ema_vocab_hit_SV.sum(0)
                dead = (use < 0.05).nonzero().flatten()
                n_dead = len(dead)
                if n_dead:
                    pool = torch.cat(rests, 0)
                    pick = torch.randint(0, len(pool), (n_dead,), generator=g)
                    vae.quantize.embedding.weight.data[dead] = pool[pick] + 0.01 * torch.randn(n_dead, pool.shape[1], generator=g)
                    vae.quantize.ema_vocab_hit_SV[:, dead] = 1.0 / len(PATCH_NUMS)
        if step % 10 == 0 or step == 1:
            used = int((vae.quantize.ema_vocab_hit_SV.sum(0) > 0.05).sum())
            P(f'step {step}/{args.steps} lr {lr:.2e} loss {loss.item():.4f} rec {rec_loss.item():.4f} '
              f'mse {F.mse_loss(rec, x).item():.4f} vq {vq_loss.item():.4f} used {used}/{V} restarted {n_dead} '
              f't {time.time() - t0:.0f}s')
        last = step == args.steps or step == args.stop_at
        if step % 100 == 0 or last:
            vae.eval()
            with torch.no_grad():
                r = vae.img_to_reconstructed_img(x_val)
                P(f'  val mse(256 test imgs, VQ recon) {F.mse_loss(r, x_val).item():.5f}')
            vae.train()
            torch.save(vae.state_dict(), os.path.join(OUT_DIR, 'vae.pt'))
        if last:
            break
    P(f'done in {time.time() - t0:.0f}s')


if __name__ == '__main__':
    main()
