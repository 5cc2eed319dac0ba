"""Sample the trained VAR in PyTorch and score the samples with the classifier.

    python3 tools/train/sample_eval.py --recon                         # classifier accuracy on VQ-VAE reconstructions
    python3 tools/train/sample_eval.py --sweep --per_class 20          # pick default sampling settings
    python3 tools/train/sample_eval.py --per_class 100 --from_assets   # final numbers, with the exported files' defaults
Writes tools/train/out/samples_grid.png (10 rows = classes), samples.npy, labels.npy, and JSON reports.
Also measures, per (layer, head), the value ranges rho = max_j v_jc - min_j v_jc (the quantity in the low-rank
backend's certified bound delta/(1-delta)*rho_c) over the generated sequences.
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

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier import load_classifier  # noqa: E402
from export import load_var  # noqa: E402
from score_samples import report, score, to_classifier_input  # noqa: E402
from train_var import VAR_CFG, load_vae  # noqa: E402
from train_vqvae import VAE_CFG  # noqa: E402
from varlib import ASSET_DIR, OUT_DIR, VAR, VQVAE, load_fashion_mnist, load_safetensors, to_model_images  # noqa: E402


def models_from_assets():
    sd_vae, _ = load_safetensors(os.path.join(ASSET_DIR, 'vae.safetensors'))
    sd_var, meta = load_safetensors(os.path.join(ASSET_DIR, 'var.safetensors'))
    vae = VQVAE(**VAE_CFG)
    vae.load_state_dict(sd_vae, strict=True)
    vae.eval()
    var = VAR(vae, **{**VAR_CFG, 'beta_cap': 100.0})  # the release's clamp: the file itself must carry the bound
    var.load_state_dict(sd_var, strict=True)
    var.eval()
    return vae, var, meta


def generate(var, per_class, cfg, top_k, top_p, seed):
    imgs, labels = [], []
    for c in range(10):
        lab = torch.full((per_class,), c, dtype=torch.long)
        imgs.append(var.autoregressive_infer_cfg(per_class, lab, g_seed=seed + c, cfg=cfg, top_k=top_k, top_p=top_p))
        labels.append(lab)
    return torch.cat(imgs), torch.cat(labels)


def save_grid(imgs01, per_class, cols, path):
    from PIL import Image
    rows = []
    for c in range(10):
        rows.append(torch.cat(list(imgs01[c * per_class:c * per_class + cols]), dim=2))  # 3,32,32*cols
    grid = torch.cat(rows, dim=1)  # 3, 320, 32*cols
    a = (grid.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    Image.fromarray(a).save(path)


@torch.no_grad()
def value_ranges(var, per_class, cfg, top_k, top_p, seed, n_per_class=20):
    """Sample, then re-run the generated token maps by teacher forcing (cond and null rows, as CFG does) and record
    per (layer, head) the largest per-channel range of v over the whole sequence."""
    var_idx_rows = []
    labs = []
    for c in range(10):
        lab = torch.full((n_per_class,), c, dtype=torch.long)
        _, idx = var.autoregressive_infer_cfg(n_per_class, lab, g_seed=seed + c, cfg=cfg, top_k=top_k, top_p=top_p, return_idx=True)
        var_idx_rows.append(idx)
        labs.append(lab)
    vae = var.vae_proxy[0]
    rho = np.zeros((len(var.blocks), var.num_heads))
    rho_med = np.zeros((len(var.blocks), var.num_heads))
    for lab, idx in zip(labs, var_idx_rows):
        x = vae.quantize.idxBl_to_var_input(idx)
        for b in var.blocks:
            b.attn.record = []
        var(torch.cat((lab, torch.full_like(lab, var.num_classes))), torch.cat((x, x)), cond_drop_rate=0.0)
        for li, b in enumerate(var.blocks):
            _, _, v = b.attn.record[0]  # B H L c
            r = (v.amax(2) - v.amin(2))  # B H c
            rho[li] = np.maximum(rho[li], r.amax(dim=(0, 2)).numpy())
            rho_med[li] += r.amax(2).median(0).values.numpy() / len(labs)
            b.attn.record = None
    return rho, rho_med


def taylor_delta(beta, g):
    return math.exp(beta) * beta ** (g + 1) / math.factorial(g + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--per_class', type=int, default=100)
    ap.add_argument('--cfg', type=float, default=None)
    ap.add_argument('--top_k', type=int, default=None)
    ap.add_argument('--top_p', type=float, default=None)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--sweep', action='store_true')
    ap.add_argument('--recon', action='store_true')
    ap.add_argument('--from_assets', action='store_true')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cls = load_classifier()
    t0 = time.time()
    if args.recon:
        vae = load_vae()
        te, yte = load_fashion_mnist('test')
        n = 1000
        with torch.no_grad():
            rec = torch.cat([vae.img_to_reconstructed_img(to_model_images(te[i:i + 200])) for i in range(0, n, 200)])
        rec01 = rec.add(1).mul(0.5)
        res_rec = score(to_classifier_input(rec01.numpy()), yte[:n], cls)
        res_orig = score(to_classifier_input(te[:n]), yte[:n], cls)
        mse = float(((rec - to_model_images(te[:n])) ** 2).mean())
        print(f'VQ-VAE reconstructions of the first {n} test images: mse([-1,1]) {mse:.5f}')
        report(res_rec)
        print('same images, original:')
        report(res_orig)
        json.dump({'recon_mse': mse, 'recon_acc': res_rec['mean'], 'orig_acc': res_orig['mean'],
                   'recon_per_class': res_rec['per_class']}, open(os.path.join(OUT_DIR, 'recon_eval.json'), 'w'), indent=1)
        return
    if args.from_assets:
        vae, var, meta = models_from_assets()
        cfg = float(meta['default_cfg']) if args.cfg is None else args.cfg
        top_k = int(meta['default_top_k']) if args.top_k is None else args.top_k
        top_p = float(meta['default_top_p']) if args.top_p is None else args.top_p
    else:
        vae = load_vae()
        var = load_var(vae)
        cfg = 2.0 if args.cfg is None else args.cfg
        top_k = 0 if args.top_k is None else args.top_k
        top_p = 0.0 if args.top_p is None else args.top_p
    if args.sweep:
        results = []
        for c_ in (0.0, 1.0, 2.0, 4.0):
            for k_, p_ in ((0, 0.0), (0, 0.8), (16, 0.0)):
                imgs, labels = generate(var, args.per_class, c_, k_, p_, args.seed)
                r = score(to_classifier_input(imgs.numpy()), labels.numpy(), cls)
                results.append(dict(cfg=c_, top_k=k_, top_p=p_, mean=r['mean'], per_class=r['per_class']))
                print(f'cfg {c_} top_k {k_} top_p {p_}: mean per-class acc {r["mean"] * 100:.1f}%  t {time.time() - t0:.0f}s', flush=True)
        json.dump(results, open(os.path.join(OUT_DIR, 'sweep.json'), 'w'), indent=1)
        return
    imgs, labels = generate(var, args.per_class, cfg, top_k, top_p, args.seed)
    np.save(os.path.join(OUT_DIR, 'samples.npy'), imgs.numpy().astype(np.float32))
    np.save(os.path.join(OUT_DIR, 'labels.npy'), labels.numpy())
    save_grid(imgs, args.per_class, min(10, args.per_class), os.path.join(OUT_DIR, 'samples_grid.png'))
    res = score(to_classifier_input(imgs.numpy()), labels.numpy(), cls)
    print(f'settings cfg {cfg} top_k {top_k} top_p {top_p} seed {args.seed}, {args.per_class} per class, {time.time() - t0:.0f}s')
    report(res)
    rho, rho_med = value_ranges(var, args.per_class, cfg, top_k, top_p, args.seed + 1000)
    betas = [[math.exp(min(float(s), math.log(100))) for s in b.attn.scale_mul_1H11.flatten()] for b in var.blocks]
    print('per (layer, head): beta, max rho (V range), median-sample rho, Taylor g=2 delta, certified |err| <= delta/(1-delta)*rho')
    cert = []
    for li in range(len(var.blocks)):
        for h in range(var.num_heads):
            bta = betas[li][h]
            d = taylor_delta(bta, 2)
            cert.append(dict(layer=li, head=h, beta=bta, rho_max=float(rho[li, h]), rho_median=float(rho_med[li, h]),
                             taylor2_delta=d, err_bound=d / (1 - d) * float(rho[li, h])))
            print(f'  L{li} H{h} beta {bta:.4f} rho_max {rho[li, h]:.3f} rho_med {rho_med[li, h]:.3f} delta {d:.2e} '
                  f'bound {d / (1 - d) * rho[li, h]:.2e}')
    json.dump(dict(settings=dict(cfg=cfg, top_k=top_k, top_p=top_p, seed=args.seed, per_class=args.per_class),
                   per_class=res['per_class'], mean=res['mean'], confusion=res['confusion'], heads=cert),
              open(os.path.join(OUT_DIR, 'sample_eval.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()
