"""Write a small parity file for the TypeScript port of the shipped Fashion-MNIST model.

    python3 tools/train/export_parity.py
reads packages/cli/assets/fashion-mnist/{vae,var}.safetensors (the exported files, loaded with the RELEASE
forward, i.e. scale_mul clamped at ln 100, so the file alone defines the function) and writes
packages/cli/assets/fashion-mnist/parity.safetensors with:

  enc.img             F32 (2,3,32,32)   two Fashion-MNIST test images (of the first 64, the two with the largest
                                        quantizer margins, different classes), preprocessed ([-1,1], padded, RGB)
  enc.idx             I32 (2,155)       vae.img_to_idxBl(img), scales concatenated (token l = row*pn+col per scale)
  enc.recon           F32 (2,3,32,32)   vae.img_to_reconstructed_img(img) in [-1,1]
  tf.label            I32 (2,)          the class labels of the two images
  tf.x_BLCv_wo_first_l F32 (2,154,Cvae) idxBl_to_var_input(enc.idx)
  tf.logits           F32 (2,155,V)     VAR teacher-forcing logits (cond_drop_rate 0)
  ar.label            I32 (2,)          labels for a greedy (top_k=1) sample with CFG = the file's default_cfg
                                        (the two classes with the largest greedy logit margins)
  ar.idx              I32 (2,155)       the greedy tokens, scales concatenated
  ar.img01            F32 (2,3,32,32)   the returned image in [0,1]
  beta                F32 (depth,heads) exp(min(scale_mul_1H11, ln 100)) per (layer, head)

`__metadata__` records the margins that make exact index comparison safe (quantizer distance gap and greedy
top1-top2 logit gap, minimum over everything recorded) and the settings.
"""
import os
# Under CPU oversubscription, OpenBLAS's own spinning thread pool and OpenMP's active waiting slow torch down
# by 3-10x on this machine; one BLAS thread and passive OpenMP waiting avoid that. Must precede `import torch`.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import json
import math
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample_eval import models_from_assets  # noqa: E402
from varlib import ASSET_DIR, load_fashion_mnist, save_safetensors, to_model_images  # noqa: E402


@torch.no_grad()
def quantizer_gaps(vae, img):
    """Per image and scale: the smallest (second-smallest - smallest) codebook distance over its tokens. (B, S)"""
    q = vae.quantize
    f = vae.quant_conv(vae.encoder(img))
    B, C, H, W = f.shape
    f_rest, gaps = f.clone(), []
    SN = len(q.v_patch_nums)
    e = q.embedding.weight
    for si, pn in enumerate(q.v_patch_nums):
        z = F.interpolate(f_rest, size=(pn, pn), mode='area') if si != SN - 1 else f_rest
        z = z.permute(0, 2, 3, 1).reshape(-1, C)
        d = (z.square().sum(1, keepdim=True) + e.square().sum(1)).addmm(z, e.T, alpha=-2, beta=1)
        two = d.topk(2, dim=1, largest=False).values
        gaps.append((two[:, 1] - two[:, 0]).view(B, -1).amin(1))
        idx = d.argmin(1).view(B, pn, pn)
        h = q.embedding(idx).permute(0, 3, 1, 2)
        if si != SN - 1:
            h = F.interpolate(h, size=(H, W), mode='bicubic')
        f_rest -= q.phi(si)(h)
    return torch.stack(gaps, 1)


@torch.no_grad()
def greedy_gaps(var, labels, cfg):
    """Greedy (top_k=1) sample; per sample and scale the smallest top1-top2 gap of the CFG-mixed logits, recomputed
    by teacher forcing (and checked to pick the same tokens). Returns (img01, idx (B,L), gaps (B,S))."""
    B = len(labels)
    img, idx = var.autoregressive_infer_cfg(B, labels, g_seed=0, cfg=cfg, top_k=1, top_p=0.0, return_idx=True)
    vae = var.vae_proxy[0]
    x = vae.quantize.idxBl_to_var_input(idx)
    lg = var(torch.cat((labels, torch.full_like(labels, var.num_classes))), torch.cat((x, x)), cond_drop_rate=0.0)
    gaps = []
    SN = len(var.patch_nums)
    for si, (a, e) in enumerate(var.begin_ends):
        t = cfg * si / (SN - 1)
        m = (1 + t) * lg[:B, a:e] - t * lg[B:, a:e]
        two = m.topk(2, dim=-1).values
        gaps.append((two[..., 0] - two[..., 1]).amin(1))
        assert torch.equal(m.argmax(-1), idx[si]), 'teacher forcing and sampling disagree'
    return img, torch.cat(idx, 1), torch.stack(gaps, 1)


def main():
    torch.set_num_threads(2)
    vae, var, meta = models_from_assets()
    te, yte = load_fashion_mnist('test')
    # choose inputs whose discrete decisions have comfortable margins, so that a float32 port can compare indices
    # exactly: among the first 64 test images the two (of different classes) with the largest quantizer gap, and
    # among the ten classes the two whose greedy samples have the largest top1-top2 logit gap
    cand = to_model_images(te[:64])
    qg = quantizer_gaps(vae, cand).amin(1)
    order = qg.argsort(descending=True).tolist()
    picks = [order[0]] + [i for i in order[1:] if yte[i] != yte[order[0]]][:1]
    img = to_model_images(te[picks])
    labels = torch.from_numpy(yte[picks]).long()
    with torch.no_grad():
        idx = vae.img_to_idxBl(img)
        recon = vae.img_to_reconstructed_img(img)
        x = vae.quantize.idxBl_to_var_input(idx)
        logits = var(labels, x, cond_drop_rate=0.0)
    cfg = float(meta['default_cfg'])
    _, _, g10 = greedy_gaps(var, torch.arange(10), cfg)
    ar_labels = g10.amin(1).argsort(descending=True)[:2].sort().values
    ar_img, ar_idx, ar_g = greedy_gaps(var, ar_labels, cfg)
    qgaps = quantizer_gaps(vae, img).amin(0).tolist()
    ar_gaps = ar_g.amin(0).tolist()
    beta = torch.tensor([[math.exp(min(float(s), math.log(100))) for s in b.attn.scale_mul_1H11.flatten()] for b in var.blocks])
    t = OrderedDict()
    t['enc.img'] = img
    t['enc.idx'] = torch.cat(idx, 1).to(torch.int32)
    t['enc.recon'] = recon
    t['tf.label'] = labels.to(torch.int32)
    t['tf.x_BLCv_wo_first_l'] = x
    t['tf.logits'] = logits
    t['ar.label'] = ar_labels.to(torch.int32)
    t['ar.idx'] = ar_idx.to(torch.int32)
    t['ar.img01'] = ar_img
    t['beta'] = beta.float()
    md = {
        'description': 'PyTorch reference outputs of packages/cli/assets/fashion-mnist/{vae,var}.safetensors (tools/train/export_parity.py)',
        'test_image_indices': json.dumps(picks),
        'tf.cond_drop_rate': '0',
        'ar.settings': json.dumps({'cfg': cfg, 'top_k': 1, 'top_p': 0.0, 'g_seed': 0, 'more_smooth': False}),
        'quantizer_min_gap_per_scale': json.dumps(qgaps),
        'greedy_min_top1_top2_gap_per_scale': json.dumps(ar_gaps),
        'tolerance': 'atol 1e-4 on logits/images; exact on indices',
        'beta_per_layer_head': json.dumps(beta.tolist()),
        'patch_nums': meta['patch_nums'],
        'torch_version': torch.__version__,
    }
    path = os.path.join(ASSET_DIR, 'parity.safetensors')
    save_safetensors(path, t, md)
    print('wrote', path, os.path.getsize(path), 'bytes')
    print('quantizer min gaps', qgaps)
    print('greedy min gaps', ar_gaps)
    print('beta', beta.tolist())


if __name__ == '__main__':
    main()
