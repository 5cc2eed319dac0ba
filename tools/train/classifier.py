"""A small CNN classifier for Fashion-MNIST, used to score generated samples.

    python3 tools/train/classifier.py            # train (seeded), report test accuracy, save
writes tools/train/out/classifier.safetensors (~100 KB) and appends to tools/train/out/classifier.log.

Input: (N,1,28,28) float in [0,1] (white garment on black, as in the dataset).
"""
import os
# Under CPU oversubscription, OpenBLAS's own spinning thread pool and OpenMP's active waiting slow torch down
# by 3-10x on this machine; one BLAS thread and passive OpenMP waiting avoid that. Must precede `import torch`.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlib import OUT_DIR, load_fashion_mnist, load_safetensors, save_safetensors, seed_everything  # noqa: E402

CLS_PATH = os.path.join(OUT_DIR, 'classifier.safetensors')


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 24, 3, padding=1)
        self.b1 = nn.BatchNorm2d(24)
        self.c2 = nn.Conv2d(24, 48, 3, padding=1)
        self.b2 = nn.BatchNorm2d(48)
        self.c3 = nn.Conv2d(48, 64, 3, padding=1)
        self.b3 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 3 * 3, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)   # 14
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)   # 7
        x = F.max_pool2d(F.relu(self.b3(self.c3(x))), 2)   # 3
        x = F.dropout(x.flatten(1), 0.25, self.training)
        return self.fc2(F.dropout(F.relu(self.fc1(x)), 0.25, self.training))


def load_classifier() -> SmallCNN:
    m = SmallCNN()
    sd, _ = load_safetensors(CLS_PATH)
    m.load_state_dict(sd, strict=True)
    m.eval()
    return m


@torch.no_grad()
def predict(m: SmallCNN, x01: torch.Tensor, bs=500) -> torch.Tensor:
    out = []
    for i in range(0, len(x01), bs):
        out.append(m(x01[i:i + bs]).argmax(1))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--bs', type=int, default=128)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    os.makedirs(OUT_DIR, exist_ok=True)
    log = open(os.path.join(OUT_DIR, 'classifier.log'), 'a')

    def P(*a):
        s = ' '.join(str(x) for x in a)
        print(s, flush=True)
        log.write(s + '\n')
        log.flush()

    P('args', vars(args))
    tr, ytr = load_fashion_mnist('train')
    te, yte = load_fashion_mnist('test')
    xtr = torch.from_numpy(tr.astype(np.float32) / 255).unsqueeze(1)
    xte = torch.from_numpy(te.astype(np.float32) / 255).unsqueeze(1)
    ytr_t, yte_t = torch.from_numpy(ytr), torch.from_numpy(yte)
    m = SmallCNN()
    opt = torch.optim.AdamW(m.parameters(), lr=args.lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(args.seed)
    steps = args.epochs * (len(xtr) // args.bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    t0 = time.time()
    step = 0
    for ep in range(args.epochs):
        m.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(len(xtr) // args.bs):
            b = perm[i * args.bs:(i + 1) * args.bs]
            x = xtr[b]
            # light augmentation: random horizontal flip and +-2 px shifts (generated images are not pixel-aligned)
            flip = torch.rand(len(b), generator=g) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
            x = torch.roll(F.pad(x, (2, 2, 2, 2)), shifts=(dy, dx), dims=(2, 3))[:, :, 2:30, 2:30]
            loss = F.cross_entropy(m(x), ytr_t[b], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0:
                P(f'epoch {ep} step {step}/{steps} loss {loss.item():.4f} t {time.time() - t0:.0f}s')
        m.eval()
        acc = (predict(m, xte) == yte_t).float().mean().item()
        P(f'epoch {ep} test accuracy {acc:.4f}')
    sd = OrderedDict((k, v.float() if v.dtype != torch.int64 else v) for k, v in m.state_dict().items())
    save_safetensors(CLS_PATH, sd, {'arch': 'SmallCNN (tools/train/classifier.py)', 'input': '(N,1,28,28) in [0,1]',
                                    'test_accuracy': f'{acc:.4f}', 'seed': str(args.seed), 'dataset': 'Fashion-MNIST',
                                    'trained_by': 'python3 tools/train/classifier.py'})
    per_class = [(((predict(m, xte) == yte_t) & (yte_t == c)).sum() / (yte_t == c).sum()).item() for c in range(10)]
    P('per-class test accuracy', [round(a, 4) for a in per_class])
    P(f'final test accuracy {acc:.4f}; saved {CLS_PATH}; {time.time() - t0:.0f}s')


if __name__ == '__main__':
    main()
