"""What the norm-driven policy (docs/theory.md §8) decides for the shipped model's heads.

    python3 tools/train/beta_policy.py [--eps 1e-2] [--kappa 0.5]
Reads beta per (layer, head) from packages/cli/assets/fashion-mnist/var.safetensors (beta = exp(min(scale_mul, ln 100)))
and, if present, the measured value ranges rho from tools/train/out/sample_eval.json; prints the decision chain
(critical regime, degree cap, rank/memory cap, cost model) with Taylor-even degrees and the certified bounds.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlib import ASSET_DIR, OUT_DIR, load_safetensors  # noqa: E402


def taylor_delta(beta, g):
    return math.exp(beta) * beta ** (g + 1) / math.factorial(g + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--eps', type=float, default=1e-2)
    ap.add_argument('--kappa', type=float, default=0.5)
    ap.add_argument('--g_max', type=int, default=4)
    ap.add_argument('--r_max', type=int, default=5000)
    args = ap.parse_args()
    sd, meta = load_safetensors(os.path.join(ASSET_DIR, 'var.safetensors'))
    pn = json.loads(meta['patch_nums'])
    L = sum(p * p for p in pn)
    cum, W = 0, 0
    for p in pn:
        cum += p * p
        W += p * p * cum
    depth = int(meta['depth'])
    H = int(meta['num_heads'])
    d = int(meta['embed_dim']) // H
    rho = None
    pth = os.path.join(OUT_DIR, 'sample_eval.json')
    if os.path.exists(pth):
        rho = {(h['layer'], h['head']): h['rho_max'] for h in json.load(open(pth))['heads']}
    C_ex = (2 * d + 1) * W
    print(f'patch_nums {pn}: L = {L}, ln L = {math.log(L):.3f}, W = sum_k pn_k^2 L_<=k = {W}, head dim d = {d}')
    print(f'exact cost C_ex = (2d+1) W = {C_ex}; kappa*C_ex = {args.kappa * C_ex:.0f}')
    for g in (1, 2, 3, 4):
        r = math.comb(d + g, g)
        C_lr = L * (2 * r * (d + 1) + 2 * r)
        print(f'  degree {g}: r = {r}, state r(d+1) = {r * (d + 1)} vs 2Ld = {2 * L * d} '
              f'({"ok" if r * (d + 1) <= 2 * L * d else "over the memory cap"}), C_lr = {C_lr}, C_lr/C_ex = {C_lr / C_ex:.3f}')
    r_star = args.kappa * C_ex / (L * (2 * (d + 1) + 2))
    print(f'  break-even rank at kappa {args.kappa}: r <= {r_star:.1f}')
    print(f'per head, eps = {args.eps}, Taylor-even family (g in 2, 4):')
    for li in range(depth):
        sm = sd[f'blocks.{li}.attn.scale_mul_1H11'].flatten().tolist()
        for h in range(H):
            beta = math.exp(min(sm[h], math.log(100)))
            rh = rho.get((li, h)) if rho else None
            delta_req = args.eps / (args.eps + rh) if rh else None
            line = f'  L{li} H{h}: beta {beta:.4f}'
            if beta >= math.log(L):
                print(line + ' -> exact (beta >= ln L, critical)')
                continue
            line += ' subcritical'
            g_ok = None
            for g in (2, 4):
                if delta_req is None or taylor_delta(beta, g) <= delta_req:
                    g_ok = g
                    break
            d2 = taylor_delta(beta, 2)
            line += f'; Taylor g=2 delta {d2:.2e}'
            if rh:
                line += f', rho_max {rh:.3f}, needed delta {delta_req:.2e}, bound(g=2) {d2 / (1 - d2) * rh:.2e}'
            if g_ok is None or g_ok > args.g_max:
                print(line + ' -> exact (degree cap)')
                continue
            r = math.comb(d + g_ok, g_ok)
            if r > args.r_max or r * (d + 1) > 2 * L * d:
                print(line + f' -> g={g_ok}, r={r}: exact (rank/memory cap)')
                continue
            C_lr = L * (2 * r * (d + 1) + 2 * r)
            dec = 'lowrank' if C_lr <= args.kappa * C_ex else 'exact (not profitable)'
            print(line + f' -> g={g_ok}, r={r}, C_lr/C_ex {C_lr / C_ex:.3f}: {dec}')


if __name__ == '__main__':
    main()
