/**
 * Feature-map networks that a dense engine may run whole.
 *
 * The VQ-VAE's convolutional stretches (resnet blocks, upsampling, the output head) are a chain of conv2d, GroupNorm,
 * SiLU, residual adds and nearest upsampling. Run op by op, each op is one engine call with its own copies in and out;
 * an engine that can compile a whole stretch (ONNX Runtime: one session, weights pinned once, buffers reused inside it)
 * runs it in one call (engines/calls.ts's featureNet). Modules describe their computation once, as a function over
 * `FeatureOps<V>`: with `eagerFeatureOps` (V = Tensor) it computes with core's reference ops, with `recordFeatureNet`
 * (V = value index) it records a `FeatureNet` (engines/dense-contract.ts), which engines/calls.ts runs.
 */
import type { FeatureConv, FeatureGroupNorm, FeatureNet, FeatureNetNode } from '../engines/dense-contract.js';
import { ShapeError, type Tensor } from '../tensor.js';
import { conv2d } from './conv2d.js';
import { add } from './elementwise.js';
import { silu } from './activation.js';
import { groupNorm } from './norm.js';
import { upsampleNearest2x } from './interpolate.js';

export type { FeatureConv, FeatureGroupNorm, FeatureNet, FeatureNetNode };

/** The ops a feature-map module is written in. */
export interface FeatureOps<V> {
  conv2d(x: V, conv: FeatureConv): V;
  groupNorm(x: V, norm: FeatureGroupNorm): V;
  silu(x: V): V;
  add(a: V, b: V): V;
  upsampleNearest2x(x: V): V;
}

/** A module's computation, written once for every V. */
export type FeatureBuild = <V>(ops: FeatureOps<V>, x: V) => V;

export const eagerFeatureOps: FeatureOps<Tensor> = {
  conv2d: (x, c) => conv2d(x, c.weight, c.bias, { stride: c.stride, padding: c.padding }),
  groupNorm: (x, n) => groupNorm(x, n.groups, n.weight, n.bias, n.eps),
  silu: (x) => silu(x),
  add: (a, b) => add(a, b),
  upsampleNearest2x: (x) => upsampleNearest2x(x),
};

/** Records `builds`, applied one after another, as one FeatureNet. */
export function recordFeatureNet(label: string, inChannels: number, builds: readonly FeatureBuild[]): FeatureNet {
  const nodes: FeatureNetNode[] = [];
  const push = (n: FeatureNetNode): number => nodes.push(n);
  const ops: FeatureOps<number> = {
    conv2d: (x, c) => push({ op: 'conv2d', x, weight: c.weight, bias: c.bias, stride: c.stride, padding: c.padding }),
    groupNorm: (x, n) => push({ op: 'groupNorm', x, weight: n.weight, bias: n.bias, groups: n.groups, eps: n.eps }),
    silu: (x) => push({ op: 'silu', x }),
    add: (a, b) => push({ op: 'add', a, b }),
    upsampleNearest2x: (x) => push({ op: 'upsampleNearest2x', x }),
  };
  let v = 0;
  for (const build of builds) v = build(ops, v);
  if (nodes.length === 0 || v !== nodes.length)
    throw new Error(`recordFeatureNet ${label}: the net must end with its last node`);
  return { label, inChannels, nodes };
}

/** The (B, C, H, W) shape of every value of `net` for an input of shape `x` (index 0 = the input). */
export function featureNetShapes(net: FeatureNet, x: readonly number[]): [number, number, number, number][] {
  if (x.length !== 4 || x[1] !== net.inChannels) {
    throw new ShapeError(`${net.label}: input must be (B, ${net.inChannels}, H, W), got (${x.join(', ')})`);
  }
  const shapes: [number, number, number, number][] = [x as [number, number, number, number]];
  for (const n of net.nodes) {
    const [B, C, H, W] = shapes[n.op === 'add' ? n.a : n.x];
    switch (n.op) {
      case 'conv2d': {
        const [Co, Ci, kh, kw] = n.weight.shape as [number, number, number, number];
        if (Ci !== C) throw new ShapeError(`${net.label}: a conv expects ${Ci} channels, its input has ${C}`);
        const out = (size: number, k: number) => Math.floor((size + 2 * n.padding - k) / n.stride) + 1;
        shapes.push([B, Co, out(H, kh), out(W, kw)]);
        break;
      }
      case 'add': {
        const o = shapes[n.b];
        if (o.some((d, i) => d !== shapes[n.a][i]))
          throw new ShapeError(`${net.label}: add of (${shapes[n.a].join(', ')}) and (${o.join(', ')})`);
        shapes.push([B, C, H, W]);
        break;
      }
      case 'upsampleNearest2x':
        shapes.push([B, C, 2 * H, 2 * W]);
        break;
      default:
        shapes.push([B, C, H, W]);
    }
  }
  return shapes;
}
