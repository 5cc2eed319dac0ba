"""Export the trained models as the CLI's default assets (official state_dict keys/order/dtypes, safetensors).

    python3 tools/train/export.py [--cfg 3 --top_k 0 --top_p 0.9]
reads tools/train/out/{vae,var}.pt, writes packages/cli/assets/fashion-mnist/{vae,var}.safetensors.
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

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_var import VAR_CFG, load_vae  # noqa: E402
from train_vqvae import VAE_CFG  # noqa: E402
from varlib import ASSET_DIR, CLASS_NAMES, OUT_DIR, VAR, load_safetensors, save_safetensors, var_state_dict_for_export  # noqa: E402

LICENCE = ('MIT. Weights trained by the nextscale project on Fashion-MNIST (Copyright 2017 Zalando SE, MIT licence, '
           'https://github.com/zalandoresearch/fashion-mnist; Debian package dataset-fashion-mnist).')
DATASET = 'Fashion-MNIST train split (60k 28x28 grey images), zero-padded to 32x32, replicated to RGB, scaled to [-1,1]'
TRAINED_BY = ('python3 tools/train/train_vqvae.py --steps {vqvae_steps} && '
              'python3 tools/train/train_var.py --n_images {n_images} --steps {var_steps} && '
              'python3 tools/train/export.py')


def load_var(vae, path=None):
    var = VAR(vae, **VAR_CFG)
    var.load_state_dict(torch.load(path or os.path.join(OUT_DIR, 'var.pt')), strict=True)
    var.eval()
    return var


def common_meta(vae_steps, n_images, var_steps):
    return {
        'patch_nums': json.dumps(list(VAR_CFG['patch_nums'])),
        'class_names': json.dumps(CLASS_NAMES),
        'image_size': '32',
        'num_classes': str(VAR_CFG['num_classes']),
        'beta_cap': repr(float(VAR_CFG['beta_cap'])),
        'dataset': DATASET,
        'licence': LICENCE,
        'trained_by': TRAINED_BY.format(vqvae_steps=vae_steps, n_images=n_images, var_steps=var_steps),
        'format': 'official VAR state_dict (keys, order and dtypes of FoundationVision/VAR), F32 except lvl_1L (I64)',
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cfg', type=float, default=None)
    ap.add_argument('--top_k', type=int, default=None)
    ap.add_argument('--top_p', type=float, default=None)
    args = ap.parse_args()
    run = json.load(open(os.path.join(OUT_DIR, 'run.json')))  # written by the run script: steps, timings, defaults
    for k in ('cfg', 'top_k', 'top_p'):
        if getattr(args, k) is not None:
            run['default_' + k] = getattr(args, k)
    vae = load_vae()
    var = load_var(vae)
    meta = common_meta(run['vqvae_steps'], run['n_images'], run['var_steps'])
    vae_meta = dict(meta)
    vae_meta.update({
        'model': 'vqvae',
        'vae_config': json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in VAE_CFG.items()}),
        'vocab_size': str(VAE_CFG['vocab_size']), 'z_channels': str(VAE_CFG['z_channels']), 'ch': str(VAE_CFG['ch']),
        'ch_mult': json.dumps(list(VAE_CFG['ch_mult'])), 'num_res_blocks': str(VAE_CFG['num_res_blocks']),
        'phi_index_per_scale': json.dumps(vae.quantize.phi_index_per_scale()),
        'image_preprocess': '28x28 uint8 -> pad 2 px of 0 (black) on each side -> 32x32 -> replicate to 3 channels -> x/255*2-1',
    })
    if 'vqvae_val_mse' in run:
        vae_meta['val_mse'] = str(run['vqvae_val_mse'])
    var_sd = var_state_dict_for_export(var, VAR_CFG['beta_cap'])
    b = [[math.exp(min(float(x), math.log(100))) for x in var_sd[f'blocks.{i}.attn.scale_mul_1H11'].flatten()]
         for i in range(VAR_CFG['depth'])]  # from the values actually written
    var_meta = dict(meta)
    var_meta.update({
        'model': 'var',
        'var_config': json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in VAR_CFG.items()}
                                 | {'attn_l2_norm': True, 'shared_aln': False, 'head_dim': VAR_CFG['embed_dim'] // VAR_CFG['num_heads'],
                                    'vocab_size': VAE_CFG['vocab_size'], 'Cvae': VAE_CFG['z_channels']}),
        'depth': str(VAR_CFG['depth']), 'embed_dim': str(VAR_CFG['embed_dim']), 'num_heads': str(VAR_CFG['num_heads']),
        'attn_l2_norm': 'true', 'shared_aln': 'false',
        'beta_per_layer_head': json.dumps(b),
        'beta_note': 'beta = exp(min(scale_mul_1H11, ln 100)) per (layer, head); every saved scale_mul_1H11 <= ln(beta_cap)',
        'default_cfg': repr(float(run['default_cfg'])),
        'default_top_k': str(int(run['default_top_k'])),
        'default_top_p': repr(float(run['default_top_p'])),
        'default_more_smooth': 'false',
    })
    for k in ('var_final_loss', 'sample_accuracy_mean', 'sample_accuracy_per_class'):
        if k in run:
            var_meta[k] = json.dumps(run[k]) if not isinstance(run[k], str) else run[k]
    os.makedirs(ASSET_DIR, exist_ok=True)
    vae_sd = vae.state_dict()
    save_safetensors(os.path.join(ASSET_DIR, 'vae.safetensors'), vae_sd, vae_meta)
    save_safetensors(os.path.join(ASSET_DIR, 'var.safetensors'), var_sd, var_meta)
    # round-trip check
    for name, sd in (('vae', vae_sd), ('var', var_sd)):
        back, m = load_safetensors(os.path.join(ASSET_DIR, f'{name}.safetensors'))
        assert list(back) == list(sd), name
        for k in sd:
            assert back[k].dtype == sd[k].dtype and torch.equal(back[k], sd[k].contiguous()), (name, k)
    assert back['lvl_1L'].dtype == torch.int64 and torch.isinf(back['attn_bias_for_masking']).any()
    # the exported VAR with the release's clamp (ln 100) computes the same function as the trained one
    var2 = VAR(vae, **{**VAR_CFG, 'beta_cap': 100.0})
    var2.load_state_dict(var_sd, strict=True)
    var2.eval()
    lab = torch.tensor([0, 7])
    x = torch.randn(2, var.L - 1, VAE_CFG['z_channels'])
    d = (var2(lab, x, cond_drop_rate=0.0) - var(lab, x, cond_drop_rate=0.0)).abs().max().item()
    print('release-clamp forward vs trained forward max |diff|', d)
    assert d < 1e-5
    print('betas', b)
    for name in ('vae', 'var'):
        p = os.path.join(ASSET_DIR, f'{name}.safetensors')
        print(p, os.path.getsize(p), 'bytes')


if __name__ == '__main__':
    main()
