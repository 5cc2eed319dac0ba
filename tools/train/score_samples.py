"""Score generated Fashion-MNIST images with the small CNN (tools/train/classifier.py): for each class, the fraction
of images that the classifier assigns to the class the generator was asked to draw.

Inputs (the images may be 32x32 padded model outputs, 28x28, or any size; RGB or grey; [0,1] or uint8):
  * a directory of PNGs named `<class>_<i>.png`, where <class> is the class index 0-9 (or a class name such as
    `Ankle boot`, `ankle-boot`, `ankle_boot`, `T-shirt/top` as `t-shirt-top`);
  * a grid PNG: `--grid-rows R --grid-cols C [--cell 32] [--gap 0] [--margin 0]`; by default row r holds class r
    (`--grid-by cols` for column c = class c; `--labels` overrides);
  * a .npy array (N,3,H,W), (N,H,W,3), (N,1,H,W) or (N,H,W), float in [0,1] (or uint8), with `--labels L.npy` or
    `--per-class K` (class-major order: K images of class 0, then class 1, ...);
  * a raw little-endian float32 file (`.f32`, `.bin`, `.raw`) with `--shape N,3,32,32` and labels as for .npy.

    python3 tools/train/score_samples.py samples/            # a directory of <class>_<i>.png
    python3 tools/train/score_samples.py grid.png --grid-rows 10 --grid-cols 10
    python3 tools/train/score_samples.py samples.npy --per-class 100 --json out.json
Prints per-class accuracy, the mean, and the confusion matrix.
"""
import os
# Under CPU oversubscription, OpenBLAS's own spinning thread pool and OpenMP's active waiting slow torch down
# by 3-10x on this machine; one BLAS thread and passive OpenMP waiting avoid that. Must precede `import torch`.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import json
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier import load_classifier, predict  # noqa: E402
from varlib import CLASS_NAMES  # noqa: E402


def _slug(s: str) -> str:
    return re.sub(r'[^a-z0-9]+', '-', s.lower()).strip('-')


_NAME_TO_CLASS = {_slug(n): i for i, n in enumerate(CLASS_NAMES)}
_NAME_TO_CLASS.update({'t-shirt': 0, 'tshirt': 0, 'top': 0, 'ankleboot': 9})


def parse_class(tok: str) -> int:
    if re.fullmatch(r'\d+', tok):
        c = int(tok)
    else:
        c = _NAME_TO_CLASS.get(_slug(tok), -1)
    if not 0 <= c < 10:
        raise ValueError(f'cannot parse class from "{tok}"')
    return c


def to_classifier_input(imgs: np.ndarray) -> torch.Tensor:
    """Any (N,C,H,W)/(N,H,W,C)/(N,H,W) array -> (N,1,28,28) float32 in [0,1]."""
    a = np.asarray(imgs)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    a = a.astype(np.float32)
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4 and a.shape[-1] in (1, 3, 4) and a.shape[1] not in (1, 3, 4):
        a = a.transpose(0, 3, 1, 2)
    if a.shape[1] == 4:
        a = a[:, :3]
    x = torch.from_numpy(np.ascontiguousarray(a)).mean(1, keepdim=True).clamp(0, 1)
    H, W = x.shape[-2:]
    if (H, W) == (32, 32):
        x = x[:, :, 2:30, 2:30]   # the model's 2-px padding
    elif (H, W) != (28, 28):
        x = F.interpolate(x, size=(28, 28), mode='area' if H >= 28 else 'bilinear')
    return x.contiguous()


def load_png(path: str) -> np.ndarray:
    from PIL import Image
    im = Image.open(path)
    im = im.convert('RGB') if im.mode not in ('L', 'RGB') else im
    a = np.asarray(im)
    return a if a.ndim == 3 else a[:, :, None]


def load_dir(d: str):
    imgs, labels, names = [], [], []
    for f in sorted(os.listdir(d)):
        if not f.lower().endswith('.png'):
            continue
        m = re.match(r'^(.*)_(\d+)\.png$', f, re.I)
        if not m:
            continue
        labels.append(parse_class(m.group(1)))
        imgs.append(load_png(os.path.join(d, f)))
        names.append(f)
    if not imgs:
        raise SystemExit(f'no <class>_<i>.png files in {d}')
    shapes = {i.shape for i in imgs}
    if len(shapes) != 1:
        raise SystemExit(f'images of different sizes: {shapes}')
    return np.stack(imgs), np.array(labels)


def load_grid(path, rows, cols, cell, gap, margin, by):
    a = load_png(path)
    H, W = a.shape[:2]
    if cell <= 0:  # infer from the size
        cell = (W - 2 * margin - (cols - 1) * gap) // cols
    imgs, labels = [], []
    for r in range(rows):
        for c in range(cols):
            y, x = margin + r * (cell + gap), margin + c * (cell + gap)
            if y + cell > H or x + cell > W:
                raise SystemExit(f'grid cell ({r},{c}) is outside the {W}x{H} image; check --cell/--gap/--margin')
            imgs.append(a[y:y + cell, x:x + cell])
            labels.append(r if by == 'rows' else c)
    return np.stack(imgs), np.array(labels)


def score(x01: torch.Tensor, labels: np.ndarray, model=None):
    model = model or load_classifier()
    pred = predict(model, x01).numpy()
    labels = np.asarray(labels)
    conf = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(labels, pred):
        conf[t, p] += 1
    per_class = {}
    for c in range(10):
        n = int((labels == c).sum())
        if n:
            per_class[c] = float(conf[c, c] / n)
    mean = float(np.mean(list(per_class.values())))
    return dict(per_class=per_class, mean=mean, overall=float((pred == labels).mean()), n=int(len(labels)),
                confusion=conf.tolist(), pred=pred.tolist())


def report(res, out=sys.stdout):
    print(f'{res["n"]} images', file=out)
    for c, a in res['per_class'].items():
        print(f'  {c} {CLASS_NAMES[c]:<12} {a * 100:6.1f}%', file=out)
    print(f'  mean per-class accuracy {res["mean"] * 100:.1f}%  (overall {res["overall"] * 100:.1f}%)', file=out)
    print('  confusion (row = asked, col = classified):', file=out)
    for c, row in enumerate(res['confusion']):
        if sum(row):
            print('   ', c, ' '.join(f'{v:3d}' for v in row), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('input')
    ap.add_argument('--labels', help='.npy/.txt of class indices (one per image)')
    ap.add_argument('--per-class', type=int, default=0)
    ap.add_argument('--shape', help='N,C,H,W for raw float32 files')
    ap.add_argument('--grid-rows', type=int, default=0)
    ap.add_argument('--grid-cols', type=int, default=0)
    ap.add_argument('--cell', type=int, default=0)
    ap.add_argument('--gap', type=int, default=0)
    ap.add_argument('--margin', type=int, default=0)
    ap.add_argument('--grid-by', choices=['rows', 'cols'], default='rows')
    ap.add_argument('--json', help='write the result as JSON here')
    args = ap.parse_args()
    torch.set_num_threads(2)
    p = args.input
    labels = None
    if os.path.isdir(p):
        imgs, labels = load_dir(p)
    elif p.lower().endswith('.png'):
        if not (args.grid_rows and args.grid_cols):
            raise SystemExit('a single PNG is read as a grid: pass --grid-rows and --grid-cols')
        imgs, labels = load_grid(p, args.grid_rows, args.grid_cols, args.cell, args.gap, args.margin, args.grid_by)
    elif p.lower().endswith('.npy'):
        imgs = np.load(p)
    else:
        if not args.shape:
            raise SystemExit('raw float32 input needs --shape N,C,H,W')
        shape = tuple(int(s) for s in args.shape.split(','))
        imgs = np.fromfile(p, dtype='<f4').reshape(shape)
    if args.labels:
        labels = np.load(args.labels) if args.labels.endswith('.npy') else np.loadtxt(args.labels, dtype=np.int64)
    elif labels is None:
        if not args.per_class:
            raise SystemExit('pass --labels or --per-class K (class-major order)')
        labels = np.repeat(np.arange(10), args.per_class)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(labels) != len(imgs):
        raise SystemExit(f'{len(imgs)} images but {len(labels)} labels')
    res = score(to_classifier_input(imgs), labels)
    report(res)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({k: v for k, v in res.items() if k != 'pred'}, f, indent=1)


if __name__ == '__main__':
    main()
