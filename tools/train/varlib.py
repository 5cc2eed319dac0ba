"""A faithful, self-contained re-implementation of VAR (Tian et al., NeurIPS 2024): the multi-scale VQ-VAE
and the VAR transformer, with the OFFICIAL module structure so that `state_dict()` has exactly the official
key names, order and dtypes (see docs/var-port.md §7). Only what training and sampling need.

Differences from the release, all inference-neutral:
  * `SelfAttention` clamps the learned per-head temperature at `beta_cap` instead of 100 (the bounded-entry
    cap; see README.md). Checkpoints are saved with `scale_mul_1H11 <= ln(beta_cap)`, so the standard forward
    (clamp at ln 100) computes exactly the same function.
  * The KV-cached sampler is replaced by a prefix recomputation with the block-causal mask (equal up to
    float rounding, as the spec's self-check shows).
"""
from __future__ import annotations

import gzip
import json
import math
import os
import struct
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(HERE, 'out')
ASSET_DIR = os.path.join(REPO, 'packages', 'cli', 'assets', 'fashion-mnist')
DATA_DIR = '/usr/share/datasets/fashion-mnist'
CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
PATCH_NUMS = (1, 2, 3, 4, 5, 6, 8)


# ----------------------------------------------------------------------------------------------------------
# data
def load_fashion_mnist(split: str) -> Tuple[np.ndarray, np.ndarray]:
    """Returns uint8 images (N, 28, 28) and int64 labels (N,) from the Debian package dataset-fashion-mnist."""
    pre = 'train' if split == 'train' else 't10k'
    with gzip.open(os.path.join(DATA_DIR, f'{pre}-images-idx3-ubyte.gz'), 'rb') as f:
        buf = f.read()
    magic, n, h, w = struct.unpack('>IIII', buf[:16])
    assert magic == 2051
    imgs = np.frombuffer(buf, dtype=np.uint8, offset=16).reshape(n, h, w)
    with gzip.open(os.path.join(DATA_DIR, f'{pre}-labels-idx1-ubyte.gz'), 'rb') as f:
        buf = f.read()
    magic, n2 = struct.unpack('>II', buf[:8])
    assert magic == 2049 and n2 == n
    labels = np.frombuffer(buf, dtype=np.uint8, offset=8).astype(np.int64)
    return imgs, labels


def to_model_images(imgs_u8: np.ndarray) -> torch.Tensor:
    """(N,28,28) uint8 -> (N,3,32,32) float32 in [-1,1]: zero-pad by 2 on every side (black border), replicate to
    RGB, x/255*2-1."""
    x = torch.from_numpy(imgs_u8.astype(np.float32) / 255.0)
    x = F.pad(x, (2, 2, 2, 2), value=0.0)
    x = x.mul(2).sub(1)
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


# ----------------------------------------------------------------------------------------------------------
# VQ-VAE (basic_vae.py / quant.py / vqvae.py)
def Normalize(c):
    return nn.GroupNorm(num_groups=32, num_channels=c, eps=1e-6, affine=True)


class Upsample2x(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode='nearest'))


class Downsample2x(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, pad=(0, 1, 0, 1), mode='constant', value=0))


class ResnetBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm1 = Normalize(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = Normalize(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1, 1, 0) if in_channels != out_channels else nn.Identity()

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.nin_shortcut(x) + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.C = c
        self.norm = Normalize(c)
        self.qkv = nn.Conv2d(c, 3 * c, 1, 1, 0)
        self.w_ratio = int(c) ** (-0.5)
        self.proj_out = nn.Conv2d(c, c, 1, 1, 0)

    def forward(self, x):
        qkv = self.qkv(self.norm(x))
        B, _, H, W = qkv.shape
        C = self.C
        q, k, v = qkv.reshape(B, 3, C, H, W).unbind(1)
        q = q.reshape(B, C, H * W).permute(0, 2, 1)
        k = k.reshape(B, C, H * W)
        w = torch.bmm(q, k).mul(self.w_ratio).softmax(dim=2)
        v = v.reshape(B, C, H * W)
        h = torch.bmm(v, w.permute(0, 2, 1)).reshape(B, C, H, W)
        return x + self.proj_out(h)


class Encoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, in_channels, z_channels):
        super().__init__()
        self.ch, self.num_resolutions, self.num_res_blocks = ch, len(ch_mult), num_res_blocks
        self.conv_in = nn.Conv2d(in_channels, ch, 3, 1, 1)
        in_ch_mult = (1,) + tuple(ch_mult)
        self.down = nn.ModuleList()
        block_in = ch
        for i_level in range(self.num_resolutions):
            block, attn = nn.ModuleList(), nn.ModuleList()
            block_in, block_out = ch * in_ch_mult[i_level], ch * ch_mult[i_level]
            for _ in range(num_res_blocks):
                block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if i_level == self.num_resolutions - 1:
                    attn.append(AttnBlock(block_in))
            down = nn.Module()
            down.block, down.attn = block, attn
            if i_level != self.num_resolutions - 1:
                down.downsample = Downsample2x(block_in)
            self.down.append(down)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, z_channels, 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for i_level in range(self.num_resolutions):
            for i_block in range(self.num_res_blocks):
                h = self.down[i_level].block[i_block](h)
                if len(self.down[i_level].attn) > 0:
                    h = self.down[i_level].attn[i_block](h)
            if i_level != self.num_resolutions - 1:
                h = self.down[i_level].downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, in_channels, z_channels):
        super().__init__()
        self.ch, self.num_resolutions, self.num_res_blocks = ch, len(ch_mult), num_res_blocks
        block_in = ch * ch_mult[self.num_resolutions - 1]
        self.conv_in = nn.Conv2d(z_channels, block_in, 3, 1, 1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        self.up = nn.ModuleList()
        for i_level in reversed(range(self.num_resolutions)):
            block, attn = nn.ModuleList(), nn.ModuleList()
            block_out = ch * ch_mult[i_level]
            for _ in range(num_res_blocks + 1):
                block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if i_level == self.num_resolutions - 1:
                    attn.append(AttnBlock(block_in))
            up = nn.Module()
            up.block, up.attn = block, attn
            if i_level != 0:
                up.upsample = Upsample2x(block_in)
            self.up.insert(0, up)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, in_channels, 3, 1, 1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for i_level in reversed(range(self.num_resolutions)):
            for i_block in range(self.num_res_blocks + 1):
                h = self.up[i_level].block[i_block](h)
                if len(self.up[i_level].attn) > 0:
                    h = self.up[i_level].attn[i_block](h)
            if i_level != 0:
                h = self.up[i_level].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Phi(nn.Conv2d):
    def __init__(self, embed_dim, quant_resi):
        super().__init__(in_channels=embed_dim, out_channels=embed_dim, kernel_size=3, stride=1, padding=1)
        self.resi_ratio = abs(quant_resi)

    def forward(self, h_BChw):
        return h_BChw.mul(1 - self.resi_ratio) + super().forward(h_BChw).mul_(self.resi_ratio)


class PhiPartiallyShared(nn.Module):
    def __init__(self, qresi_ls: nn.ModuleList):
        super().__init__()
        self.qresi_ls = qresi_ls
        K = len(qresi_ls)
        self.ticks = np.linspace(1 / 3 / K, 1 - 1 / 3 / K, K) if K == 4 else np.linspace(1 / 2 / K, 1 - 1 / 2 / K, K)

    def index(self, at_from_0_to_1: float) -> int:
        return int(np.argmin(np.abs(self.ticks - at_from_0_to_1)).item())

    def __getitem__(self, at_from_0_to_1: float) -> Phi:
        return self.qresi_ls[self.index(at_from_0_to_1)]


class VectorQuantizer2(nn.Module):
    def __init__(self, vocab_size, Cvae, v_patch_nums, beta=0.25, quant_resi=0.5, share_quant_resi=4):
        super().__init__()
        assert share_quant_resi == 4, 'only the released PhiPartiallyShared(K=4) mode is implemented'
        self.vocab_size, self.Cvae = vocab_size, Cvae
        self.v_patch_nums = tuple(v_patch_nums)
        self.quant_resi = PhiPartiallyShared(nn.ModuleList([Phi(Cvae, quant_resi) for _ in range(share_quant_resi)]))
        self.register_buffer('ema_vocab_hit_SV', torch.full((len(self.v_patch_nums), vocab_size), fill_value=0.0))
        self.record_hit = 0
        self.beta = beta
        self.embedding = nn.Embedding(vocab_size, Cvae)

    def phi(self, si: int) -> Phi:
        return self.quant_resi[si / (len(self.v_patch_nums) - 1)]

    def phi_index_per_scale(self) -> List[int]:
        SN = len(self.v_patch_nums)
        return [self.quant_resi.index(si / (SN - 1)) for si in range(SN)]

    def _nearest(self, rest_NC):
        e = self.embedding.weight.data
        d = torch.sum(rest_NC.square(), dim=1, keepdim=True) + torch.sum(e.square(), dim=1, keepdim=False)
        d.addmm_(rest_NC, e.T, alpha=-2, beta=1)
        return torch.argmin(d, dim=1)

    def forward(self, f_BChw):
        """Training forward (quant.py VectorQuantizer2.forward): returns (f_hat with straight-through grads,
        mean_vq_loss, per-scale hit counts, per-scale residual samples for codebook restarts)."""
        B, C, H, W = f_BChw.shape
        f_no_grad = f_BChw.detach()
        f_rest = f_no_grad.clone()
        f_hat = torch.zeros_like(f_rest)
        mean_vq_loss = 0.0
        SN = len(self.v_patch_nums)
        hits, rests = [], []
        for si, pn in enumerate(self.v_patch_nums):
            rest_NC = F.interpolate(f_rest, size=(pn, pn), mode='area').permute(0, 2, 3, 1).reshape(-1, C) if si != SN - 1 \
                else f_rest.permute(0, 2, 3, 1).reshape(-1, C)
            idx_N = self._nearest(rest_NC)
            hit_V = idx_N.bincount(minlength=self.vocab_size).float()
            hits.append(hit_V)
            rests.append(rest_NC)
            idx_Bhw = idx_N.view(B, pn, pn)
            h_BChw = F.interpolate(self.embedding(idx_Bhw).permute(0, 3, 1, 2), size=(H, W), mode='bicubic').contiguous() \
                if si != SN - 1 else self.embedding(idx_Bhw).permute(0, 3, 1, 2).contiguous()
            h_BChw = self.phi(si)(h_BChw)
            f_hat = f_hat + h_BChw
            f_rest -= h_BChw
            if self.training:
                if self.record_hit == 0:
                    self.ema_vocab_hit_SV[si].copy_(hit_V)
                elif self.record_hit < 100:
                    self.ema_vocab_hit_SV[si].mul_(0.9).add_(hit_V.mul(0.1))
                else:
                    self.ema_vocab_hit_SV[si].mul_(0.99).add_(hit_V.mul(0.01))
            mean_vq_loss = mean_vq_loss + F.mse_loss(f_hat.data, f_BChw).mul_(self.beta) + F.mse_loss(f_hat, f_no_grad)
        if self.training:
            self.record_hit += 1
        mean_vq_loss = mean_vq_loss * (1.0 / SN)
        f_hat = (f_hat.data - f_no_grad).add_(f_BChw)
        return f_hat, mean_vq_loss, hits, rests

    @torch.no_grad()
    def f_to_idxBl_or_fhat(self, f_BChw, to_fhat: bool):
        B, C, H, W = f_BChw.shape
        f_no_grad = f_BChw.detach()
        f_rest = f_no_grad.clone()
        f_hat = torch.zeros_like(f_rest)
        out = []
        SN = len(self.v_patch_nums)
        for si, pn in enumerate(self.v_patch_nums):
            z_NC = F.interpolate(f_rest, size=(pn, pn), mode='area').permute(0, 2, 3, 1).reshape(-1, C) if si != SN - 1 \
                else f_rest.permute(0, 2, 3, 1).reshape(-1, C)
            idx_N = self._nearest(z_NC)
            idx_Bhw = idx_N.view(B, pn, pn)
            h_BChw = F.interpolate(self.embedding(idx_Bhw).permute(0, 3, 1, 2), size=(H, W), mode='bicubic').contiguous() \
                if si != SN - 1 else self.embedding(idx_Bhw).permute(0, 3, 1, 2).contiguous()
            h_BChw = self.phi(si)(h_BChw)
            f_hat.add_(h_BChw)
            f_rest.sub_(h_BChw)
            out.append(f_hat.clone() if to_fhat else idx_N.reshape(B, pn * pn))
        return out

    @torch.no_grad()
    def idxBl_to_var_input(self, gt_ms_idx_Bl: List[torch.Tensor]) -> torch.Tensor:
        next_scales = []
        B = gt_ms_idx_Bl[0].shape[0]
        C = self.Cvae
        H = W = self.v_patch_nums[-1]
        SN = len(self.v_patch_nums)
        f_hat = gt_ms_idx_Bl[0].new_zeros(B, C, H, W, dtype=torch.float32)
        pn_next = self.v_patch_nums[0]
        for si in range(SN - 1):
            h_BChw = F.interpolate(self.embedding(gt_ms_idx_Bl[si]).transpose_(1, 2).view(B, C, pn_next, pn_next), size=(H, W), mode='bicubic')
            f_hat.add_(self.phi(si)(h_BChw))
            pn_next = self.v_patch_nums[si + 1]
            next_scales.append(F.interpolate(f_hat, size=(pn_next, pn_next), mode='area').view(B, C, -1).transpose(1, 2))
        return torch.cat(next_scales, dim=1) if len(next_scales) else None

    def get_next_autoregressive_input(self, si, SN, f_hat, h_BChw):
        HW = self.v_patch_nums[-1]
        if si != SN - 1:
            h = self.phi(si)(F.interpolate(h_BChw, size=(HW, HW), mode='bicubic'))
            f_hat.add_(h)
            return f_hat, F.interpolate(f_hat, size=(self.v_patch_nums[si + 1], self.v_patch_nums[si + 1]), mode='area')
        else:
            h = self.phi(si)(h_BChw)
            f_hat.add_(h)
            return f_hat, f_hat


class VQVAE(nn.Module):
    def __init__(self, vocab_size=512, z_channels=8, ch=32, ch_mult=(1, 1, 2), num_res_blocks=2, beta=0.25,
                 quant_resi=0.5, share_quant_resi=4, v_patch_nums=PATCH_NUMS):
        super().__init__()
        self.V, self.Cvae = vocab_size, z_channels
        self.downsample = 2 ** (len(ch_mult) - 1)
        self.encoder = Encoder(ch, ch_mult, num_res_blocks, 3, z_channels)
        self.decoder = Decoder(ch, ch_mult, num_res_blocks, 3, z_channels)
        self.vocab_size = vocab_size
        self.quantize = VectorQuantizer2(vocab_size, z_channels, v_patch_nums, beta, quant_resi, share_quant_resi)
        self.quant_conv = nn.Conv2d(z_channels, z_channels, 3, 1, 1)
        self.post_quant_conv = nn.Conv2d(z_channels, z_channels, 3, 1, 1)

    def forward(self, inp):
        f_hat, vq_loss, hits, rests = self.quantize(self.quant_conv(self.encoder(inp)))
        return self.decoder(self.post_quant_conv(f_hat)), vq_loss, hits, rests

    def fhat_to_img(self, f_hat):
        return self.decoder(self.post_quant_conv(f_hat)).clamp_(-1, 1)

    @torch.no_grad()
    def img_to_idxBl(self, inp):
        return self.quantize.f_to_idxBl_or_fhat(self.quant_conv(self.encoder(inp)), to_fhat=False)

    @torch.no_grad()
    def img_to_reconstructed_img(self, x, last_one=True):
        ls_f_hat = self.quantize.f_to_idxBl_or_fhat(self.quant_conv(self.encoder(x)), to_fhat=True)
        return self.fhat_to_img(ls_f_hat[-1])


# ----------------------------------------------------------------------------------------------------------
# VAR (basic_var.py / var.py)
class FFN(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate='tanh')
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SelfAttention(nn.Module):
    def __init__(self, block_idx, embed_dim, num_heads, beta_cap: float):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.block_idx, self.num_heads, self.head_dim = block_idx, num_heads, embed_dim // num_heads
        self.scale = 1
        # released init is ln 4; we start at the cap (ln beta_cap) so that the parameter is never stuck above it
        self.scale_mul_1H11 = nn.Parameter(torch.full((1, num_heads, 1, 1), fill_value=float(beta_cap)).log(), requires_grad=True)
        self.max_scale_mul = math.log(beta_cap)  # released: ln 100
        self.mat_qkv = nn.Linear(embed_dim, embed_dim * 3, bias=False)
        self.q_bias, self.v_bias = nn.Parameter(torch.zeros(embed_dim)), nn.Parameter(torch.zeros(embed_dim))
        self.register_buffer('zero_k_bias', torch.zeros(embed_dim))
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.record = None  # when a list: forward appends (q, k, v) (for analysis)

    def forward(self, x, attn_bias):
        B, L, C = x.shape
        qkv = F.linear(x, self.mat_qkv.weight, torch.cat((self.q_bias, self.zero_k_bias, self.v_bias))).view(B, L, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(dim=0)  # B H L c
        scale_mul = self.scale_mul_1H11.clamp_max(self.max_scale_mul).exp()
        q = F.normalize(q, dim=-1).mul(scale_mul)
        k = F.normalize(k, dim=-1)
        if self.record is not None:
            self.record.append((q.detach(), k.detach(), v.detach()))
        # einsum instead of `q @ k.transpose(-2,-1)`: same values, but this torch build's bmm is ~10x slower for
        # (155x16)@(16x155) than the path einsum takes
        attn = torch.einsum('bhld,bhmd->bhlm', q.mul(self.scale), k)
        if attn_bias is not None:
            attn = attn + attn_bias
        oup = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, L, C)
        return self.proj(oup)


class AdaLNSelfAttn(nn.Module):
    def __init__(self, block_idx, embed_dim, cond_dim, num_heads, mlp_ratio, norm_eps, beta_cap):
        super().__init__()
        self.block_idx, self.C, self.D = block_idx, embed_dim, cond_dim
        self.attn = SelfAttention(block_idx, embed_dim, num_heads, beta_cap)
        self.ffn = FFN(embed_dim, round(embed_dim * mlp_ratio))
        self.ln_wo_grad = nn.LayerNorm(embed_dim, eps=norm_eps, elementwise_affine=False)
        self.ada_lin = nn.Sequential(nn.SiLU(inplace=False), nn.Linear(cond_dim, 6 * embed_dim))

    def forward(self, x, cond_BD, attn_bias):
        gamma1, gamma2, scale1, scale2, shift1, shift2 = self.ada_lin(cond_BD).view(-1, 1, 6, self.C).unbind(2)
        x = x + self.attn(self.ln_wo_grad(x).mul(scale1.add(1)).add(shift1), attn_bias=attn_bias).mul(gamma1)
        x = x + self.ffn(self.ln_wo_grad(x).mul(scale2.add(1)).add(shift2)).mul(gamma2)
        return x


class AdaLNBeforeHead(nn.Module):
    def __init__(self, C, D, norm_eps):
        super().__init__()
        self.C, self.D = C, D
        self.ln_wo_grad = nn.LayerNorm(C, eps=norm_eps, elementwise_affine=False)
        self.ada_lin = nn.Sequential(nn.SiLU(inplace=False), nn.Linear(D, 2 * C))

    def forward(self, x_BLC, cond_BD):
        scale, shift = self.ada_lin(cond_BD).view(-1, 1, 2, self.C).unbind(2)
        return self.ln_wo_grad(x_BLC).mul(scale.add(1)).add(shift)


class VAR(nn.Module):
    def __init__(self, vae: VQVAE, num_classes=10, depth=4, embed_dim=64, num_heads=4, mlp_ratio=4.0,
                 norm_eps=1e-6, cond_drop_rate=0.1, patch_nums=PATCH_NUMS, beta_cap=0.5):
        super().__init__()
        self.Cvae, self.V = vae.Cvae, vae.vocab_size
        self.depth, self.C, self.D, self.num_heads = depth, embed_dim, embed_dim, num_heads
        self.cond_drop_rate = cond_drop_rate
        self.patch_nums = tuple(patch_nums)
        self.L = sum(pn ** 2 for pn in self.patch_nums)
        self.first_l = self.patch_nums[0] ** 2
        self.begin_ends = []
        cur = 0
        for pn in self.patch_nums:
            self.begin_ends.append((cur, cur + pn ** 2))
            cur += pn ** 2
        self.vae_proxy = (vae,)
        self.word_embed = nn.Linear(self.Cvae, self.C)
        init_std = math.sqrt(1 / self.C / 3)
        self.num_classes = num_classes
        self.class_emb = nn.Embedding(num_classes + 1, self.C)
        nn.init.trunc_normal_(self.class_emb.weight.data, mean=0, std=init_std)
        self.pos_start = nn.Parameter(torch.empty(1, self.first_l, self.C))
        nn.init.trunc_normal_(self.pos_start.data, mean=0, std=init_std)
        pos_1LC = []
        for pn in self.patch_nums:
            pe = torch.empty(1, pn * pn, self.C)
            nn.init.trunc_normal_(pe, mean=0, std=init_std)
            pos_1LC.append(pe)
        self.pos_1LC = nn.Parameter(torch.cat(pos_1LC, dim=1))
        self.lvl_embed = nn.Embedding(len(self.patch_nums), self.C)
        nn.init.trunc_normal_(self.lvl_embed.weight.data, mean=0, std=init_std)
        self.shared_ada_lin = nn.Identity()
        self.blocks = nn.ModuleList([AdaLNSelfAttn(i, self.C, self.D, num_heads, mlp_ratio, norm_eps, beta_cap) for i in range(depth)])
        d = torch.cat([torch.full((pn * pn,), i) for i, pn in enumerate(self.patch_nums)]).view(1, self.L, 1)
        dT = d.transpose(1, 2)
        self.register_buffer('lvl_1L', dT[:, 0].contiguous())
        self.register_buffer('attn_bias_for_masking', torch.where(d >= dT, 0., -torch.inf).reshape(1, 1, self.L, self.L).contiguous())
        self.head_nm = AdaLNBeforeHead(self.C, self.D, norm_eps)
        self.head = nn.Linear(self.C, self.V)

    def init_weights(self, init_adaln=0.5, init_adaln_gamma=1e-5, init_head=0.02, init_std=-1.0):
        if init_std < 0:
            init_std = (1 / self.C / 3) ** 0.5
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight.data, std=init_std)
                if m.bias is not None:
                    m.bias.data.zero_()
            elif isinstance(m, nn.Embedding):
                nn.init.trunc_normal_(m.weight.data, std=init_std)
        self.head.weight.data.mul_(init_head)
        self.head.bias.data.zero_()
        self.head_nm.ada_lin[-1].weight.data.mul_(init_adaln)
        self.head_nm.ada_lin[-1].bias.data.zero_()
        depth = len(self.blocks)
        for b in self.blocks:
            b.attn.proj.weight.data.div_(math.sqrt(2 * depth))
            b.ffn.fc2.weight.data.div_(math.sqrt(2 * depth))
            b.ada_lin[-1].weight.data[2 * self.C:].mul_(init_adaln)
            b.ada_lin[-1].weight.data[:2 * self.C].mul_(init_adaln_gamma)
            b.ada_lin[-1].bias.data.zero_()

    def forward(self, label_B, x_BLCv_wo_first_l, cond_drop_rate: Optional[float] = None, ed: Optional[int] = None):
        ed = self.L if ed is None else ed
        B = label_B.shape[0]
        rate = self.cond_drop_rate if cond_drop_rate is None else cond_drop_rate
        if rate > 0:
            label_B = torch.where(torch.rand(B) < rate, self.num_classes, label_B)
        sos = cond_BD = self.class_emb(label_B)
        sos = sos.unsqueeze(1).expand(B, self.first_l, -1) + self.pos_start.expand(B, self.first_l, -1)
        x_BLC = torch.cat((sos, self.word_embed(x_BLCv_wo_first_l[:, :ed - self.first_l].float())), dim=1)
        x_BLC = x_BLC + self.lvl_embed(self.lvl_1L[:, :ed].expand(B, -1)) + self.pos_1LC[:, :ed]
        # -1e4 instead of -inf: identical softmax (exp underflows to exactly 0; |logits| <= beta here), but this torch
        # build's softmax backward is ~40x slower on rows that contain -inf
        attn_bias = self.attn_bias_for_masking[:, :, :ed, :ed].clamp_min(-1e4)
        for b in self.blocks:
            x_BLC = b(x_BLC, cond_BD, attn_bias)
        return self.head(self.head_nm(x_BLC, cond_BD))

    @torch.no_grad()
    def autoregressive_infer_cfg(self, B: int, label_B: torch.Tensor, g_seed: Optional[int] = None, cfg=1.5,
                                 top_k=0, top_p=0.0, return_idx=False):
        """Same sampling procedure as the release (CFG ramp t = cfg·si/(S-1), [cond; uncond] batch, top-k/top-p),
        computing each scale's logits by re-running the transformer on the prefix with the block-causal mask."""
        vae = self.vae_proxy[0]
        rng = None
        if g_seed is not None:
            rng = torch.Generator()
            rng.manual_seed(g_seed)
        label_B = label_B.long()
        labels2 = torch.cat((label_B, torch.full_like(label_B, self.num_classes)))
        SN = len(self.patch_nums)
        f_hat = torch.zeros(B, self.Cvae, self.patch_nums[-1], self.patch_nums[-1])
        inputs = []  # (B, pn², Cvae) next-scale inputs (the teacher-forcing x_BLCv_wo_first_l, built incrementally)
        idx_list = []
        cur_L = 0
        for si, pn in enumerate(self.patch_nums):
            ratio = si / (SN - 1)
            cur_L += pn * pn
            x_in = torch.cat(inputs, dim=1) if inputs else torch.zeros(B, 0, self.Cvae)
            logits2 = self.forward(labels2, torch.cat((x_in, x_in)), cond_drop_rate=0.0, ed=cur_L)[:, cur_L - pn * pn:cur_L]
            t = cfg * ratio
            logits = (1 + t) * logits2[:B] - t * logits2[B:]
            idx = sample_with_top_k_top_p_(logits, top_k=top_k, top_p=top_p, rng=rng)[:, :, 0]
            idx_list.append(idx)
            h_BChw = vae.quantize.embedding(idx).transpose(1, 2).reshape(B, self.Cvae, pn, pn)
            f_hat, nxt = vae.quantize.get_next_autoregressive_input(si, SN, f_hat, h_BChw)
            if si != SN - 1:
                inputs.append(nxt.view(B, self.Cvae, -1).transpose(1, 2))
        img = vae.fhat_to_img(f_hat).add_(1).mul_(0.5)
        return (img, idx_list) if return_idx else img


def sample_with_top_k_top_p_(logits_BlV, top_k=0, top_p=0.0, rng=None, num_samples=1):
    B, l, V = logits_BlV.shape
    if top_k > 0:
        idx_to_remove = logits_BlV < logits_BlV.topk(top_k, largest=True, sorted=False, dim=-1)[0].amin(dim=-1, keepdim=True)
        logits_BlV.masked_fill_(idx_to_remove, -torch.inf)
    if top_p > 0:
        sorted_logits, sorted_idx = logits_BlV.sort(dim=-1, descending=False)
        sorted_idx_to_remove = sorted_logits.softmax(dim=-1).cumsum_(dim=-1) <= (1 - top_p)
        sorted_idx_to_remove[..., -1:] = False
        logits_BlV.masked_fill_(sorted_idx_to_remove.scatter(sorted_idx.ndim - 1, sorted_idx, sorted_idx_to_remove), -torch.inf)
    replacement = num_samples >= 0
    num_samples = abs(num_samples)
    return torch.multinomial(logits_BlV.softmax(dim=-1).view(-1, V), num_samples=num_samples, replacement=replacement, generator=rng).view(B, l, num_samples)


# ----------------------------------------------------------------------------------------------------------
# safetensors (hand-written, as the fixtures are)
_DT = {torch.float32: ('F32', '<f4'), torch.int64: ('I64', '<i8'), torch.int32: ('I32', '<i4'), torch.uint8: ('U8', 'u1')}


def save_safetensors(path: str, tensors: 'OrderedDict[str, torch.Tensor]', metadata: dict):
    header = OrderedDict()
    header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for k, t in tensors.items():
        t = t.detach().cpu().contiguous()
        dt, npdt = _DT[t.dtype]
        b = t.numpy().astype(npdt, copy=False).tobytes()
        header[k] = {'dtype': dt, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hj += b' ' * ((8 - len(hj) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load_safetensors(path: str):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n).decode('utf-8'))
        data = f.read()
    meta = header.pop('__metadata__', {})
    rev = {'F32': np.float32, 'I64': np.int64, 'I32': np.int32, 'U8': np.uint8}
    out = OrderedDict()
    for k, v in header.items():
        a, b = v['data_offsets']
        arr = np.frombuffer(data[a:b], dtype=np.dtype(rev[v['dtype']]).newbyteorder('<')).reshape(v['shape'])
        out[k] = torch.from_numpy(arr.copy())
    return out, meta


def var_state_dict_for_export(var: VAR, beta_cap: float):
    """state_dict with scale_mul_1H11 clamped to <= ln(beta_cap) so that the static bound in the file is real."""
    sd = var.state_dict()
    cap = math.log(beta_cap)
    out = OrderedDict()
    for k, v in sd.items():
        if k.endswith('attn.scale_mul_1H11'):
            v = v.clamp_max(cap)
            # make sure exp(float32 value) <= beta_cap even after rounding
            while float(torch.exp(v.double()).max()) > beta_cap:
                v = torch.where(torch.exp(v.double()) > beta_cap, torch.nextafter(v, torch.tensor(-1e9)), v)
        out[k] = v.clone()
    return out


def seed_everything(seed: int):
    torch.manual_seed(seed)
    np.random.seed(seed)
