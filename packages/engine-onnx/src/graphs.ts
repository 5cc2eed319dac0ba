import {
  encodeModel,
  encodeModelExternal,
  FLOAT,
  type ExternalData,
  type GraphSpec,
  type Initializer,
  type NodeSpec,
} from './onnx-proto.js';

/**
 * The engine's graphs, one per (op, pinned weight, fixed attributes). Inputs are named `x`,
 * the output `y`; dynamic axes are symbolic so one session serves every batch and spatial size.
 */
export interface GraphModel {
  bytes: Uint8Array;
  /**
   * Initializers kept outside `bytes` (encodeModelExternal): handed to ONNX Runtime as they are, without serialising
   * the weights into the protobuf first; the session's options must carry them.
   */
  externalData?: ExternalData[];
  /** What it is, for error messages. */
  label: string;
  /** ONNX Runtime's graph optimization level for its session (default 'all': Conv gets the NCHWc layout). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ONNX Runtime's CPU memory arena for this session (default: the engine's memArena option). On for the shared
   * weightless elementwise graphs: one session serves every call, and without an arena each node's output of a large
   * vector is a fresh allocation (page faults) on every call.
   */
  memArena?: boolean;
}

const io = (name: string, dims: (number | string)[]) => ({ name, elemType: FLOAT, dims });

/**
 * y = x·Wᵀ for a row-major (out, in) weight W as core holds it, without transposing W first: com.microsoft FusedMatMul
 * with transB = 1 (any leading dims on x). onnxruntime-node's CPU provider prepacks W for its GEMM exactly as it packs
 * a pre-transposed MatMul weight, so the products are bit-identical to MatMul(x, Wᵀ) and run as fast (measured on
 * 1.30: 2 × 1024 → 6144, 680 × 1024 → 4096 in 2-D and 3-D, and whole fused blocks against main's, 0 differing values),
 * while building the session skips a JavaScript transpose of every weight (1.6 s of a cold d16 run) and the transposed
 * copy's memory. Not for a 2-D MatMul followed by a bias Add: the optimizer fuses that pair into a Gemm (linearNodes).
 */
export function matMulWT(x: string, w: string, y: string): NodeSpec {
  return {
    opType: 'FusedMatMul',
    domain: 'com.microsoft',
    inputs: [x, w],
    outputs: [y],
    attributes: { transB: { i: 1 } },
  };
}

/**
 * How the linear graphs hold their weights. 'as-is' (onnxruntime-node): W untransposed, handed beside the protobuf as
 * external data (encodeModelExternal), so no JavaScript copy is made. 'transposed' (onnxruntime-web, whose WebGPU
 * provider may lack these forms and whose external-data path is untested here): MatMul on a transposed copy inside
 * the protobuf.
 */
export type WeightForm = 'as-is' | 'transposed';

/**
 * y = x·Wᵀ (+ b) for a 2-D x, in the given form. 'as-is' is Gemm(x, W, b) with transB = 1: what ONNX Runtime's
 * 'basic' optimizer makes of MatMul(x, Wᵀ) + Add (its MatMulAddFusion), the weight prepacked the same way, so the two
 * forms are bit-identical (external-data.test.ts; FusedMatMul followed by an Add would not match the fused Gemm's rounding).
 */
function linearNodes(
  form: WeightForm,
  names: { w: string; b: string },
  weight: Float32Array,
  bias: Float32Array | null,
  outF: number,
  inF: number,
  x: string,
  y: string,
): { initializers: Initializer[]; nodes: NodeSpec[] } {
  const initializers: Initializer[] = bias ? [{ name: names.b, dataType: FLOAT, dims: [outF], data: bias }] : [];
  if (form === 'as-is') {
    initializers.unshift({ name: names.w, dataType: FLOAT, dims: [outF, inF], data: weight });
    const inputs = bias ? [x, names.w, names.b] : [x, names.w];
    return { initializers, nodes: [{ opType: 'Gemm', inputs, outputs: [y], attributes: { transB: { i: 1 } } }] };
  }
  initializers.unshift({ name: names.w, dataType: FLOAT, dims: [inF, outF], data: transposed(weight, outF, inF) });
  const nodes: NodeSpec[] = [{ opType: 'MatMul', inputs: [x, names.w], outputs: [bias ? `${y}.xw` : y] }];
  if (bias) nodes.push({ opType: 'Add', inputs: [`${y}.xw`, names.b], outputs: [y] });
  return { initializers, nodes };
}

/** A model's bytes (and external data) in the weights' form. */
function encode(form: WeightForm, g: GraphSpec): Pick<GraphModel, 'bytes' | 'externalData'> {
  return form === 'as-is' ? encodeModelExternal(g) : { bytes: encodeModel(g) };
}

/**
 * y (rows × outF) = x·Wᵀ (+ bias) (linearNodes). Measured on onnxruntime 1.30 (x64, 512 × 1024 → 4096): with a
 * prepacked weight this runs at ~2× the speed of the 'extended' optimizer's form, so the session runs at the 'basic'
 * level (see `optimization`).
 */
export function linearGraph(
  weight: Float32Array,
  outF: number,
  inF: number,
  bias: Float32Array | null,
  form: WeightForm = 'transposed',
): GraphModel {
  return {
    label: `linear ${inF}→${outF}${bias ? ' + bias' : ''}`,
    optimization: 'basic',
    ...encode(form, {
      name: 'linear',
      ...linearNodes(form, { w: 'W', b: 'bias' }, weight, bias, outF, inF, 'x', 'y'),
      inputs: [io('x', ['rows', inF])],
      outputs: [io('y', ['rows', outF])],
    }),
  };
}

/**
 * y (rows × outF) = x·Wᵀ (+ b) with W and b as inputs, not initializers: for linearOnce, whose weight lives for one
 * call (core's AdaLN weights read from their file), so one session serves every weight of a shape and keeps none.
 * Gemm with transB = 1, as linearNodes' 'as-is' form, without a prepacked weight.
 */
export function linearOnceGraph(outF: number, inF: number, bias: boolean): GraphModel {
  return {
    label: `linearOnce ${inF}→${outF}${bias ? ' + bias' : ''}`,
    bytes: encodeModel({
      name: 'linearOnce',
      nodes: [
        {
          opType: 'Gemm',
          inputs: bias ? ['x', 'W', 'b'] : ['x', 'W'],
          outputs: ['y'],
          attributes: { transB: { i: 1 } },
        },
      ],
      inputs: [io('x', ['rows', inF]), io('W', [outF, inF]), ...(bias ? [io('b', [outF])] : [])],
      outputs: [io('y', ['rows', outF])],
      initializers: [],
    }),
  };
}

/** Wᵀ (inF × outF) of a row-major (outF × inF) weight. */
export function transposed(weight: Float32Array, outF: number, inF: number): Float32Array {
  // In 64 × 64 tiles: a row-by-row transpose writes each value a whole output row away from the last, so at d16's
  // 4096 × 1024 weights every write missed the cache; this ran ~2–3× faster there (scripts/bench/onnx-block-build.mjs)
  const wt = new Float32Array(inF * outF);
  const TILE = 64;
  for (let o0 = 0; o0 < outF; o0 += TILE) {
    const o1 = Math.min(o0 + TILE, outF);
    for (let i0 = 0; i0 < inF; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, inF);
      for (let i = i0; i < i1; i++) {
        const row = i * outF;
        for (let o = o0; o < o1; o++) wt[row + o] = weight[o * inF + i];
      }
    }
  }
  return wt;
}

/**
 * The transformer FFN y = fc2(GELU_tanh(fc1(x))) as one graph: each part written exactly as linearGraph and
 * geluTanhGraph write it, so the fused graph computes what the three one-op sessions compute.
 */
export function feedForwardGraph(
  fc1: Float32Array,
  fc1Bias: Float32Array | null,
  hidden: number,
  inF: number,
  fc2: Float32Array,
  fc2Bias: Float32Array | null,
  form: WeightForm = 'transposed',
): GraphModel {
  const l1 = linearNodes(form, { w: 'W1', b: 'b1' }, fc1, fc1Bias, hidden, inF, 'x', 'h');
  const l2 = linearNodes(form, { w: 'W2', b: 'b2' }, fc2, fc2Bias, inF, hidden, 'g', 'y');
  return {
    label: `feedForward ${inF}→${hidden}→${inF}`,
    optimization: 'basic',
    ...encode(form, {
      name: 'feedForward',
      nodes: [...l1.nodes, ...geluNodes('h', 'g'), ...l2.nodes],
      inputs: [io('x', ['rows', inF])],
      outputs: [io('y', ['rows', inF])],
      initializers: [...l1.initializers, ...l2.initializers, ...geluConstants],
    }),
  };
}

export interface ConvShape {
  outChannels: number;
  inChannels: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  /** Extra bottom/right padding beyond padH/padW (0 for the contract's symmetric padding). */
  padBottomExtra?: number;
  padRightExtra?: number;
}

/**
 * NCHW Conv with the weight (Co, Ci, kh, kw) and bias as initializers, run at the 'basic' optimization level (ONNX
 * Runtime's plain NCHW kernel). Measured on onnxruntime 1.30 here (2 threads): the 'all' level's NCHWc layout kept each
 * conv weight three times in memory (20 pinned 16 MiB weights: +1000 MiB against +370 MiB at 'basic'), and at the
 * decoder's largest conv (160 → 160 channels, 3 × 3, 256 × 256) it took 480–910 ms per call against 290–510 ms at
 * 'basic' (its reorders of 42 MB in and out); at 128² and below the two were within ~10%.
 */
export function convGraph(weight: Float32Array, bias: Float32Array | null, s: ConvShape): GraphModel {
  const initializers: Initializer[] = [
    { name: 'W', dataType: FLOAT, dims: [s.outChannels, s.inChannels, s.kernelH, s.kernelW], data: weight },
  ];
  if (bias) initializers.push({ name: 'bias', dataType: FLOAT, dims: [s.outChannels], data: bias });
  const pads = [s.padH, s.padW, s.padH + (s.padBottomExtra ?? 0), s.padW + (s.padRightExtra ?? 0)];
  return {
    optimization: 'basic',
    label: `conv2d ${s.inChannels}→${s.outChannels} ${s.kernelH}×${s.kernelW} stride ${s.strideH}×${s.strideW} pads [${pads.join(',')}]`,
    bytes: encodeModel({
      name: 'conv2d',
      nodes: [
        {
          opType: 'Conv',
          inputs: bias ? ['x', 'W', 'bias'] : ['x', 'W'],
          outputs: ['y'],
          attributes: {
            kernel_shape: { ints: [s.kernelH, s.kernelW] },
            strides: { ints: [s.strideH, s.strideW] },
            pads: { ints: pads },
            dilations: { ints: [1, 1] },
            group: { i: 1 },
          },
        },
      ],
      inputs: [io('x', ['batch', s.inChannels, 'height', 'width'])],
      outputs: [io('y', ['batch', s.outChannels, 'outH', 'outW'])],
      initializers,
    }),
  };
}

/** LayerNormalization over the last axis of (rows × cols), no affine (unit scale, zero bias initializers). */
export function layerNormGraph(cols: number, eps: number): GraphModel {
  return {
    label: `layerNorm over ${cols}`,
    bytes: encodeModel({
      name: 'layerNorm',
      nodes: [
        {
          opType: 'LayerNormalization',
          inputs: ['x', 'one', 'zero'],
          outputs: ['y'],
          attributes: { axis: { i: -1 }, epsilon: { f: eps } },
        },
      ],
      inputs: [io('x', ['rows', cols])],
      outputs: [io('y', ['rows', cols])],
      initializers: [
        { name: 'one', dataType: FLOAT, dims: [cols], data: new Float32Array(cols).fill(1) },
        { name: 'zero', dataType: FLOAT, dims: [cols], data: new Float32Array(cols) },
      ],
    }),
  };
}

const scalar = (name: string, v: number): Initializer => ({
  name,
  dataType: FLOAT,
  dims: [],
  data: Float32Array.of(v),
});

/**
 * GELU, tanh approximation, on a flat vector, written without Tanh: 0.5·x·(1 + tanh(u)) = x·σ(2u) = x / (1 + e^(−2u)),
 * u = √(2/π)·(x + 0.044715·x³). ONNX Runtime's vectorised Tanh and Sigmoid are rational approximations off by up to
 * ~1e-3 relative in the tails; its Exp is accurate to a few ulp, so the graph uses Exp, Add and Div only.
 */
export function geluTanhGraph(): GraphModel {
  return {
    label: 'geluTanh',
    memArena: true,
    bytes: encodeModel({
      name: 'geluTanh',
      nodes: geluNodes('x', 'y'),
      inputs: [io('x', ['n'])],
      outputs: [io('y', ['n'])],
      initializers: geluConstants,
    }),
  };
}

export const geluConstants: Initializer[] = [
  scalar('gelu.k', 0.044715),
  scalar('gelu.one', 1),
  scalar('gelu.minus2c', -2 * Math.sqrt(2 / Math.PI)),
];

/** GELU's nodes from `x` to `y` (intermediates prefixed by y's name). */
export function geluNodes(x: string, y: string): NodeSpec[] {
  const t = (n: string) => `${y}.${n}`;
  return [
    { opType: 'Mul', inputs: [x, x], outputs: [t('x2')] },
    { opType: 'Mul', inputs: [t('x2'), 'gelu.k'], outputs: [t('kx2')] },
    { opType: 'Add', inputs: [t('kx2'), 'gelu.one'], outputs: [t('p')] },
    { opType: 'Mul', inputs: [x, t('p')], outputs: [t('inner')] },
    { opType: 'Mul', inputs: [t('inner'), 'gelu.minus2c'], outputs: [t('arg')] },
    { opType: 'Exp', inputs: [t('arg')], outputs: [t('e')] },
    { opType: 'Add', inputs: [t('e'), 'gelu.one'], outputs: [t('d')] },
    { opType: 'Div', inputs: [x, t('d')], outputs: [y] },
  ];
}

/** SiLU = x·σ(x) = x / (1 + e^(−x)) on a flat vector (Exp, not Sigmoid: see geluTanhGraph). */
export function siluGraph(): GraphModel {
  return {
    label: 'silu',
    memArena: true,
    bytes: encodeModel({
      name: 'silu',
      nodes: [
        { opType: 'Neg', inputs: ['x'], outputs: ['nx'] },
        { opType: 'Exp', inputs: ['nx'], outputs: ['e'] },
        { opType: 'Add', inputs: ['e', 'one'], outputs: ['d'] },
        { opType: 'Div', inputs: ['x', 'd'], outputs: ['y'] },
      ],
      inputs: [io('x', ['n'])],
      outputs: [io('y', ['n'])],
      initializers: [scalar('one', 1)],
    }),
  };
}
