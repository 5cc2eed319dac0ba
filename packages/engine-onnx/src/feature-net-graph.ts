/**
 * A core FeatureNet (a VQ-VAE stretch: conv, GroupNorm, SiLU, residual add, nearest ×2 upsampling) as one ONNX graph,
 * so ONNX Runtime runs the whole stretch in one call with its weights as initializers and its intermediate buffers
 * planned inside the session. Convs on maps that are whole 2×2 or 4×4 tiles run as Winograd F(m×m, 3×3) (winograd.ts)
 * when the graph is written for one input size, others as the engine's convGraph; SiLU with Exp as siluGraph. A stretch thus
 * rounds differently from its ops one by one (core's tests bound the difference at 1e-4).
 */
import {
  encodeModel,
  encodeModelExternal,
  FLOAT,
  INT64,
  type GraphSpec,
  type Initializer,
  type NodeSpec,
} from './onnx-proto.js';
import type { GraphModel } from './graphs.js';
import type { FeatureNetLike } from './types.js';
import { Slabs } from './slabs.js';
import { winogradApplies, winogradConv, type WinogradTile } from './winograd.js';

/** The smallest map (height × width) whose 3×3 convolutions run as Winograd by default (winogradTile). */
export const WINOGRAD_FROM_AREA = 64 * 64;

/**
 * Which 3×3 convolutions run as Winograd F(m×m, 3×3) (winograd.ts), given the map each one sees: on maps of
 * `fromArea` (default 64²) and more, F(4×4) where the map is whole 4×4 tiles, else F(2×2). Measured on this project's
 * 2-vCPU AVX2 VM (ONNX Runtime 1.30, 2 threads, one conv at the VQ-VAE decoder's shapes, 160–640 channels): F(4×4) took
 * 0.4–0.6× the direct Conv's time (F(2×2) 0.5–0.75×), with a largest difference of ~5e-5 per layer at |y| ≈ 4 (F(2×2):
 * 2e-6). Its weights take (m+2)²/9 times the memory (4× for F(4×4)): on small maps, where the channels are many (the
 * d16 decoder's 640-channel convs at 16² and 32², ~190 MB of weights) and the time is small, that is not worth it: they
 * stay direct. (F(2×2) on the 64² maps would save 54 MiB of the d16 decoder's weights, but its larger transformed tiles
 * made a batch of 8 decode ~0.25 s per image slower under glibc's default allocator: NOTES.md, "Session 11".)
 */
export function winogradTile(
  conv: {
    kernelH: number;
    kernelW: number;
    stride: number;
    padding: number;
    height: number;
    width: number;
  },
  fromArea = WINOGRAD_FROM_AREA,
): WinogradTile | null {
  if (conv.height * conv.width < fromArea) return null;
  if (winogradApplies(4, conv)) return 4;
  if (winogradApplies(2, conv)) return 2;
  return null;
}

/** Whether this package can write every node of `net` (unknown ops from a newer core are declined, not guessed). */
export function canWriteFeatureNet(net: FeatureNetLike): boolean {
  return net.nodes.every((n) => ['conv2d', 'groupNorm', 'silu', 'add', 'upsampleNearest2x'].includes(n.op));
}

/**
 * The ONNX graph of `net` for one image: input x (1, C, h, w), output y. With `size` the graph is for that input size
 * only (static shapes), and its 3×3 convolutions on maps of `size.winogradFromArea` and more run as Winograd
 * F(m×m, 3×3) (winogradTile); without it the graph takes any size and every conv is ONNX Runtime's Conv. With
 * `external` (onnxruntime-node) the weights are handed beside the protobuf (encodeModelExternal), not copied into it.
 */
export function featureNetGraph(
  net: FeatureNetLike,
  size?: { height: number; width: number; winogradFromArea: number },
  external = false,
): GraphModel {
  const shapes = size ? featureNetShapes(net, size.height, size.width) : null;
  const nodes: NodeSpec[] = [];
  const initializers: Initializer[] = [];
  const shared = new Set<string>();
  // the Winograd U arrays live until the session holds them: from slabs, so that they leave no heap holes (slabs.ts)
  const slabs = new Slabs();
  const constant = (name: string, make: () => Initializer): string => {
    if (!shared.has(name)) {
      shared.add(name);
      initializers.push(make());
    }
    return name;
  };
  const value = (i: number): string => (i === 0 ? 'x' : i === net.nodes.length ? 'y' : `v${i}`);
  net.nodes.forEach((n, i) => {
    const out = value(i + 1);
    const t = `n${i + 1}`;
    switch (n.op) {
      case 'conv2d': {
        const [co, ci, kh, kw] = n.weight.shape as [number, number, number, number];
        const [, height, width] = shapes?.[n.x] ?? [0, 0, 0];
        const tile = shapes
          ? winogradTile(
              { kernelH: kh, kernelW: kw, stride: n.stride, padding: n.padding, height, width },
              size?.winogradFromArea,
            )
          : null;
        if (tile) {
          const w = winogradConv(tile, value(n.x), out, t, {
            weight: n.weight.data,
            bias: n.bias?.data ?? null,
            outChannels: co,
            inChannels: ci,
            height,
            width,
            allocate: (floats) => slabs.take(floats),
          });
          nodes.push(...w.nodes);
          initializers.push(...w.initializers);
          break;
        }
        initializers.push({ name: `${t}.W`, dataType: FLOAT, dims: [co, ci, kh, kw], data: n.weight.data });
        if (n.bias) initializers.push({ name: `${t}.B`, dataType: FLOAT, dims: [co], data: n.bias.data });
        const p = n.padding;
        nodes.push({
          opType: 'Conv',
          inputs: n.bias ? [value(n.x), `${t}.W`, `${t}.B`] : [value(n.x), `${t}.W`],
          outputs: [out],
          attributes: {
            kernel_shape: { ints: [kh, kw] },
            strides: { ints: [n.stride, n.stride] },
            pads: { ints: [p, p, p, p] },
            dilations: { ints: [1, 1] },
            group: { i: 1 },
          },
        });
        break;
      }
      case 'groupNorm': {
        // GroupNorm = InstanceNormalization over (1, G, C/G·h·w), then the per-channel affine
        const G = n.groups;
        const C = n.weight.shape[0];
        const grouped = constant(`groups${G}`, () => ({
          name: `groups${G}`,
          dataType: INT64,
          dims: [3],
          data: [0, G, -1],
        }));
        const ones = constant(`ones${G}`, () => ({
          name: `ones${G}`,
          dataType: FLOAT,
          dims: [G],
          data: new Float32Array(G).fill(1),
        }));
        const zeros = constant(`zeros${G}`, () => ({
          name: `zeros${G}`,
          dataType: FLOAT,
          dims: [G],
          data: new Float32Array(G),
        }));
        initializers.push(
          { name: `${t}.gamma`, dataType: FLOAT, dims: [C, 1, 1], data: n.weight.data },
          { name: `${t}.beta`, dataType: FLOAT, dims: [C, 1, 1], data: n.bias.data },
        );
        nodes.push(
          { opType: 'Reshape', inputs: [value(n.x), grouped], outputs: [`${t}.g`] },
          {
            opType: 'InstanceNormalization',
            inputs: [`${t}.g`, ones, zeros],
            outputs: [`${t}.n`],
            attributes: { epsilon: { f: n.eps } },
          },
          { opType: 'Shape', inputs: [value(n.x)], outputs: [`${t}.shape`] },
          { opType: 'Reshape', inputs: [`${t}.n`, `${t}.shape`], outputs: [`${t}.r`] },
          { opType: 'Mul', inputs: [`${t}.r`, `${t}.gamma`], outputs: [`${t}.s`] },
          { opType: 'Add', inputs: [`${t}.s`, `${t}.beta`], outputs: [out] },
        );
        break;
      }
      case 'silu': {
        // x / (1 + e^-x) with Exp, as siluGraph writes it. Not x·Sigmoid(x): onnxruntime-web's Sigmoid rounds unlike
        // onnxruntime-node's (MLAS), which moved a pixel between the page and the CLI (apps/web's onnx pixel tests).
        const one = constant('one', () => ({ name: 'one', dataType: FLOAT, dims: [], data: Float32Array.of(1) }));
        nodes.push(
          { opType: 'Neg', inputs: [value(n.x)], outputs: [`${t}.neg`] },
          { opType: 'Exp', inputs: [`${t}.neg`], outputs: [`${t}.exp`] },
          { opType: 'Add', inputs: [`${t}.exp`, one], outputs: [`${t}.den`] },
          { opType: 'Div', inputs: [value(n.x), `${t}.den`], outputs: [out] },
        );
        break;
      }
      case 'add':
        nodes.push({ opType: 'Add', inputs: [value(n.a), value(n.b)], outputs: [out] });
        break;
      case 'upsampleNearest2x': {
        const scales = constant('scales2x', () => ({
          name: 'scales2x',
          dataType: FLOAT,
          dims: [4],
          data: Float32Array.of(1, 1, 2, 2),
        }));
        nodes.push({
          opType: 'Resize',
          inputs: [value(n.x), '', scales],
          outputs: [out],
          attributes: {
            mode: { s: 'nearest' },
            coordinate_transformation_mode: { s: 'asymmetric' },
            nearest_mode: { s: 'floor' },
          },
        });
        break;
      }
      default:
        throw new Error(`engine-onnx: feature net ${net.label}: no ONNX form for op ${(n as { op: string }).op}`);
    }
  });
  const [outChannels, outH, outW] = shapes?.[shapes.length - 1] ?? [
    featureNetOutputShape(net, 1, 1)[0],
    'outH',
    'outW',
  ];
  // serialised into the protobuf, the d16 decoder's ~0.37 GB of (Winograd-transformed) weights existed three times
  // while its session was made (the JS arrays, the protobuf, ONNX Runtime's copy): ~+0.3 GiB of peak RSS
  const encode = (g: GraphSpec) => (external ? encodeModelExternal(g) : { bytes: encodeModel(g) });
  return {
    label: `feature net ${net.label}${size ? ` at ${size.height}×${size.width}` : ''}`,
    // measured on the d16 decoder (2 threads): 'basic' ~3.5 s per image, 'all' (NCHWc) ~3.8 s, 'extended' ~4.0 s
    optimization: 'basic',
    // No arena: it kept the decode's largest intermediates after the decode (the d16 decoder: ~280 MiB more resident
    // afterwards, under the next image's transformer), for no measurable gain in speed (CPU time per decode 4.0–4.2 s
    // either way, decode-only probe, load 8–17).
    memArena: false,
    ...encode({
      name: 'featureNet',
      nodes,
      inputs: [{ name: 'x', elemType: FLOAT, dims: [1, net.inChannels, size?.height ?? 'h', size?.width ?? 'w'] }],
      outputs: [{ name: 'y', elemType: FLOAT, dims: [1, outChannels, outH, outW] }],
      initializers,
    }),
  };
}

/** [channels, height, width] of the net's output for an h × w input. */
export function featureNetOutputShape(net: FeatureNetLike, h: number, w: number): [number, number, number] {
  const shapes = featureNetShapes(net, h, w);
  return shapes[shapes.length - 1];
}

/** [channels, height, width] of every value of the net (the input first, then each node's output). */
function featureNetShapes(net: FeatureNetLike, h: number, w: number): [number, number, number][] {
  const shapes: [number, number, number][] = [[net.inChannels, h, w]];
  for (const n of net.nodes) {
    const [c, hi, wi] = shapes[n.op === 'add' ? n.a : n.x];
    if (n.op === 'conv2d') {
      const [co, , kh, kw] = n.weight.shape as [number, number, number, number];
      const out = (size: number, k: number) => Math.floor((size + 2 * n.padding - k) / n.stride) + 1;
      shapes.push([co, out(hi, kh), out(wi, kw)]);
    } else if (n.op === 'upsampleNearest2x') shapes.push([c, 2 * hi, 2 * wi]);
    else shapes.push([c, hi, wi]);
  }
  return shapes;
}

/** Every weight array the net holds (what the engine pins and may release). */
export function featureNetWeights(net: FeatureNetLike): Float32Array[] {
  const out: Float32Array[] = [];
  for (const n of net.nodes) {
    if (n.op === 'conv2d') out.push(n.weight.data, ...(n.bias ? [n.bias.data] : []));
    if (n.op === 'groupNorm') out.push(n.weight.data, n.bias.data);
  }
  return out;
}
