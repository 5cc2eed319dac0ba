/**
 * The asynchronous seam: the dense calls the model code awaits. Each runs core's op (ops/: shape checks, the output,
 * the TypeScript reference loops) and hands the work to the active engine's fast path when it has one, awaiting it:
 * a fast path may return a promise (ONNX Runtime's `session.run`) or just return (WebAssembly). Without a fast path
 * the op runs its own loops, its products on the engine's synchronous GEMM (ops/gemm.ts).
 */
import { conv2d as conv2dOp, type Conv2dOptions } from '../ops/conv2d.js';
import { geluTanh as geluTanhOp, silu as siluOp } from '../ops/activation.js';
import { add } from '../ops/elementwise.js';
import { featureNetShapes } from '../ops/feature-net.js';
import { upsampleNearest2x } from '../ops/interpolate.js';
import { linear as linearOp } from '../ops/linear.js';
import { groupNorm as groupNormOp, layerNorm as layerNormOp } from '../ops/norm.js';
import { softmax as softmaxOp } from '../ops/softmax.js';
import { Tensor } from '../tensor.js';
import { fastPath } from './active.js';
import type { FastPathName, FeatureNet, FeatureNetNode, SyncKernel } from './dense-contract.js';

/**
 * Runs a synchronous op with the active engine's fast path `name` as its kernel: the op checks shapes, allocates its
 * output and starts the fast path; the output is complete once the fast path's promise (if any) has settled.
 */
async function onEngine<K extends FastPathName, R>(name: K, op: (kernel: SyncKernel<K> | undefined) => R): Promise<R> {
  const fast = fastPath(name) as ((...args: unknown[]) => unknown) | undefined;
  if (!fast) return op(undefined);
  let pending: unknown;
  const result = op(((...args: unknown[]) => void (pending = fast(...args))) as SyncKernel<K>);
  await pending;
  return result;
}

/** ops/linear.ts's linear on the active engine. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Promise<Tensor> {
  return onEngine('linear', (k) => linearOp(x, weight, bias, k));
}

/**
 * ops/linear.ts's linear on the active engine with a weight the engine must not keep (the engine's linearOnce; without
 * one, the op's loops on the engine's GEMM): for a weight read into a reused buffer for this call only.
 */
export function linearOnce(x: Tensor, weight: Tensor, bias?: Tensor | null): Promise<Tensor> {
  return onEngine('linearOnce', (k) => linearOp(x, weight, bias, k));
}

/** ops/conv2d.ts's conv2d on the active engine. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Promise<Tensor> {
  return onEngine('conv2d', (k) => conv2dOp(x, weight, bias, opts, k));
}

/** ops/norm.ts's layerNorm on the active engine. */
export function layerNorm(x: Tensor, eps: number): Promise<Tensor> {
  return onEngine('layerNormRows', (k) => layerNormOp(x, eps, k));
}

/** ops/norm.ts's groupNorm on the active engine. */
export function groupNorm(x: Tensor, groups: number, weight: Tensor, bias: Tensor, eps: number): Promise<Tensor> {
  return onEngine('groupNorm', (k) => groupNormOp(x, groups, weight, bias, eps, k));
}

/** ops/softmax.ts's softmax on the active engine. */
export function softmax(x: Tensor): Promise<Tensor> {
  return onEngine('softmaxRows', (k) => softmaxOp(x, k));
}

/** ops/activation.ts's silu on the active engine. */
export function silu(x: Tensor): Promise<Tensor> {
  return onEngine('silu', (k) => siluOp(x, k));
}

/** ops/activation.ts's geluTanh on the active engine. */
export function geluTanh(x: Tensor): Promise<Tensor> {
  return onEngine('geluTanh', (k) => geluTanhOp(x, k));
}

/**
 * A transformer FFN, fc2(GELU_tanh(fc1(x))): the engine's fused `feedForward` when it has one (one call, the hidden
 * activations never leave the engine), else the three calls.
 */
export async function feedForward(
  x: Tensor,
  fc1: Tensor,
  fc1Bias: Tensor | null,
  fc2: Tensor,
  fc2Bias: Tensor | null,
): Promise<Tensor> {
  const fast = fastPath('feedForward');
  const [hidden, inF] = fc1.shape as [number, number];
  const rows = x.data.length / inF;
  const fused =
    fast && rows > 0 && x.shape[x.shape.length - 1] === inF && fc2.shape[0] === inF && fc2.shape[1] === hidden;
  if (!fused) return linear(await geluTanh(await linear(x, fc1, fc1Bias)), fc2, fc2Bias);
  const y = new Tensor(x.shape);
  await fast(x.data, rows, inF, fc1.data, fc1Bias?.data ?? null, hidden, fc2.data, fc2Bias?.data ?? null, y.data);
  return y;
}

/**
 * Runs a recorded feature net (ops/feature-net.ts) on x: in one call with the engine's `featureNet` when it has one and
 * takes this net, else node by node (featureNetByOps) on the same engine.
 */
export async function featureNet(net: FeatureNet, x: Tensor): Promise<Tensor> {
  const fast = fastPath('featureNet');
  if (fast) {
    const shapes = featureNetShapes(net, x.shape);
    const out = shapes[shapes.length - 1]!;
    const y = new Float32Array(out[0] * out[1] * out[2] * out[3]);
    if (await fast(net, x.data, x.shape as [number, number, number, number], y)) return new Tensor(out, y);
  }
  return featureNetByOps(net, x);
}

/**
 * Runs a recorded feature net node by node, each node one of the calls above. A value is dropped after its last use,
 * so intermediate maps are freed as they would be when the modules run eagerly.
 */
export async function featureNetByOps(net: FeatureNet, x: Tensor): Promise<Tensor> {
  featureNetShapes(net, x.shape); // a wrong input is one clear error before any work
  const lastUse: number[] = [];
  net.nodes.forEach((n, i) => {
    for (const v of n.op === 'add' ? [n.a, n.b] : [n.x]) lastUse[v] = i;
  });
  const values: (Tensor | undefined)[] = [x];
  for (const [i, n] of net.nodes.entries()) {
    values.push(await runNode(n, values));
    for (const v of n.op === 'add' ? [n.a, n.b] : [n.x]) if (lastUse[v] === i) values[v] = undefined;
  }
  return values[values.length - 1]!;
}

function runNode(n: FeatureNetNode, v: readonly (Tensor | undefined)[]): Tensor | Promise<Tensor> {
  switch (n.op) {
    case 'conv2d':
      return conv2d(v[n.x]!, n.weight, n.bias, { stride: n.stride, padding: n.padding });
    case 'groupNorm':
      return groupNorm(v[n.x]!, n.groups, n.weight, n.bias, n.eps);
    case 'silu':
      return silu(v[n.x]!);
    case 'add':
      return add(v[n.a]!, v[n.b]!);
    case 'upsampleNearest2x':
      return upsampleNearest2x(v[n.x]!);
  }
}
