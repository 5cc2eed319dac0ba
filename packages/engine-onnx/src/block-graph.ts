/**
 * A whole VAR transformer block (core's models/var/block.ts, eval mode) as one ONNX graph, so that a scale step costs
 * one ONNX Runtime call per block instead of ~8 engine calls plus core's loops between them:
 *
 *   h  = LN(x)·(1 + scale1) + shift1                      (modulation rows m: [gamma1, gamma2, scale1, scale2, shift1, shift2])
 *   q, k, v = split(h·Wqkvᵀ + [q_bias, 0, v_bias]) per head; with l2-norm attention q, k l2-normalised and q × qScale[h]
 *   K, V = concat(past, k / v)                            (the block's KV cache: the prefix's keys/values in, k/v out)
 *   a  = softmax(τ·q·Kᵀ)·V                                (com.microsoft.MultiHeadAttention, heads side by side in C)
 *   x1 = x + (merge(a)·Wprojᵀ + b)·gamma1
 *   y  = x1 + FFN(LN(x1)·(1 + scale2) + shift2)·gamma2    (the FFN written as feedForwardGraph writes it)
 *
 * Inputs x (N, T, C), m (N, 6C), past_key/past_value (N, P, C); outputs y (N, T, C) and this step's key/value
 * (N, T, C). P may be 0 (the first scale). There is no mask: every query attends to the whole prefix and its own
 * scale, which is next-scale inference, and teacher forcing's block-causal mask is the same computation run scale by
 * scale (block-runner.ts). The cache stays with the caller, who appends this step's keys and values: nothing the
 * size of the cache is returned (onnxruntime-node copies every output), only one in-graph copy (the Concat) remains.
 * Weights are initializers (the linear layers' as core holds them, multiplied by graphs.ts matMulWT), so the session
 * is built once per block.
 */
import { FLOAT, INT64, encodeModelExternal, type Initializer, type NodeSpec } from './onnx-proto.js';
import { geluConstants, geluNodes, matMulWT, type GraphModel } from './graphs.js';

/** The block's weights as core's VARBlockWeights holds them (row-major, PyTorch's (out, in) layout). */
export interface BlockWeights {
  qkvWeight: Float32Array;
  /** cat(q_bias, zeros, v_bias) (3C). */
  qkvBias: Float32Array;
  /** exp(min(scale_mul, ln 100)) per head; present exactly when attention is l2-normalised. */
  qScale?: Float32Array;
  projWeight: Float32Array;
  projBias: Float32Array;
  fc1Weight: Float32Array;
  fc1Bias: Float32Array;
  fc2Weight: Float32Array;
  fc2Bias: Float32Array;
}

export interface BlockShape {
  /** Model width C = heads · headDim. */
  width: number;
  heads: number;
  headDim: number;
  /** FFN hidden width. */
  hidden: number;
  /** LayerNorm epsilon. */
  eps: number;
  /** Softmax scale τ (1 with l2-norm attention). */
  scale: number;
}

/** The BLOCK_SLOTS order of core's adaln.ts (pitfall 6 of the spec: VAR's unbind order). */
const SLOT = { gamma1: 0, gamma2: 1, scale1: 2, scale2: 3, shift1: 4, shift2: 5 } as const;

export function transformerBlockGraph(w: BlockWeights, s: BlockShape): GraphModel {
  const { width: C, heads: H, headDim: hd, hidden } = s;
  if (H * hd !== C) throw new RangeError(`transformerBlockGraph: heads ${H} × headDim ${hd} ≠ width ${C}`);
  const l2 = w.qScale !== undefined;
  const f = (name: string, dims: number[], data: Float32Array): Initializer => ({ name, dataType: FLOAT, dims, data });
  const i64 = (name: string, data: number[], dims: number[] = [data.length]): Initializer => ({
    name,
    dataType: INT64,
    dims,
    data,
  });
  const initializers: Initializer[] = [
    f('ln.one', [C], new Float32Array(C).fill(1)),
    f('ln.zero', [C], new Float32Array(C)),
    f('Wqkv', [3 * C, C], w.qkvWeight),
    f('bqkv', [3 * C], w.qkvBias),
    f('Wproj', [C, C], w.projWeight),
    f('bproj', [C], w.projBias),
    f('W1', [hidden, C], w.fc1Weight),
    f('b1', [hidden], w.fc1Bias),
    f('W2', [C, hidden], w.fc2Weight),
    f('b2', [C], w.fc2Bias),
    f('one', [], Float32Array.of(1)),
    i64('shape.N16C', [0, 1, 6, C]),
    i64('shape.NTHd', [0, 0, H, hd]),
    i64('shape.NTC', [0, 0, C]),
    ...[0, 1, 2, 3, 4, 5].map((k) => i64(`slot${k}`, [k], [])),
    ...geluConstants,
  ];
  if (l2)
    initializers.push(f('qScale', [H, 1], w.qScale!), f('eps12', [], Float32Array.of(1e-12)), i64('axis.last', [-1]));
  const nodes: NodeSpec[] = [];
  const node = (opType: string, inputs: string[], outputs: string[], attributes?: NodeSpec['attributes']) =>
    nodes.push({ opType, inputs, outputs, ...(attributes ? { attributes } : {}) });

  // m (N, 6C) → (N, 1, 6, C); slot k is then (N, 1, C), broadcast over the tokens
  node('Reshape', ['m', 'shape.N16C'], ['m6']);
  const slot = (k: number) => {
    node('Gather', ['m6', `slot${k}`], [`mod${k}`], { axis: { i: 2 } });
    return `mod${k}`;
  };
  const modulated = (xIn: string, scaleSlot: number, shiftSlot: number, out: string) => {
    node('LayerNormalization', [xIn, 'ln.one', 'ln.zero'], [`${out}.ln`], { axis: { i: -1 }, epsilon: { f: s.eps } });
    node('Add', [slot(scaleSlot), 'one'], [`${out}.1ps`]);
    node('Mul', [`${out}.ln`, `${out}.1ps`], [`${out}.sc`]);
    node('Add', [`${out}.sc`, slot(shiftSlot)], [out]);
  };
  modulated('x', SLOT.scale1, SLOT.shift1, 'h1');
  nodes.push(matMulWT('h1', 'Wqkv', 'qkv0'));
  node('Add', ['qkv0', 'bqkv'], ['qkv']);
  // (N, T, 3C) → q, k, v (N, T, C): heads side by side, the layout MultiHeadAttention takes
  node('Split', ['qkv'], l2 ? ['q.raw', 'k.raw', 'value'] : ['q', 'key', 'value'], {
    axis: { i: -1 },
    num_outputs: { i: 3 },
  });
  if (l2) {
    // x / max(‖x‖₂, 1e-12) over each head's hd values, as core's projectQKV (and F.normalize) compute it
    for (const name of ['q', 'k']) {
      node('Reshape', [`${name}.raw`, 'shape.NTHd'], [`${name}.heads`]); // (N, T, H, hd)
      node('ReduceSumSquare', [`${name}.heads`, 'axis.last'], [`${name}.sq`], { keepdims: { i: 1 } });
      node('Sqrt', [`${name}.sq`], [`${name}.norm`]);
      node('Max', [`${name}.norm`, 'eps12'], [`${name}.den`]);
      node('Div', [`${name}.heads`, `${name}.den`], [`${name}.unit`]);
    }
    node('Mul', ['q.unit', 'qScale'], ['q.scaled']);
    node('Reshape', ['q.scaled', 'shape.NTC'], ['q']);
    node('Reshape', ['k.unit', 'shape.NTC'], ['key']);
  }
  // the prefix's keys/values (inputs the runner holds) and this step's: one copy into the attention's contiguous K/V
  node('Concat', ['past_key', 'key'], ['K'], { axis: { i: 1 } });
  node('Concat', ['past_value', 'value'], ['V'], { axis: { i: 1 } });
  // ONNX Runtime's MultiHeadAttention: without mask, bias or past it runs MLAS's flash attention (tiles of queries ×
  // keys sized to L2, online softmax), so the (rows, heads, T, P + T) scores are never materialised (d36's last
  // scale: 0.33 GB per row with the standard Attention op) and it measured faster (scripts/bench/onnx-attention-cache.mjs)
  nodes.push({
    opType: 'MultiHeadAttention',
    domain: 'com.microsoft',
    inputs: ['q', 'K', 'V'],
    outputs: ['attnM'],
    attributes: { num_heads: { i: H }, scale: { f: s.scale } },
  });
  nodes.push(matMulWT('attnM', 'Wproj', 'proj0'));
  node('Add', ['proj0', 'bproj'], ['proj']);
  node('Mul', ['proj', slot(SLOT.gamma1)], ['projG']);
  node('Add', ['x', 'projG'], ['x1']);

  modulated('x1', SLOT.scale2, SLOT.shift2, 'h2');
  nodes.push(matMulWT('h2', 'W1', 'fc1o'));
  node('Add', ['fc1o', 'b1'], ['fc1b']);
  nodes.push(...geluNodes('fc1b', 'g'));
  nodes.push(matMulWT('g', 'W2', 'fc2o'));
  node('Add', ['fc2o', 'b2'], ['ffn']);
  node('Mul', ['ffn', slot(SLOT.gamma2)], ['ffnG']);
  node('Add', ['x1', 'ffnG'], ['y']);

  const io = (name: string, dims: (number | string)[]) => ({ name, elemType: FLOAT, dims });
  return {
    label: `transformerBlock C${C} H${H}×${hd} hidden ${hidden}`,
    optimization: 'basic',
    // the weights beside the protobuf, not copied into it (onnx-proto.ts encodeModelExternal)
    ...encodeModelExternal({
      name: 'transformerBlock',
      opset: 23,
      nodes,
      inputs: [
        io('x', ['N', 'T', C]),
        io('m', ['N', 6 * C]),
        io('past_key', ['N', 'P', C]),
        io('past_value', ['N', 'P', C]),
      ],
      outputs: [io('y', ['N', 'T', C]), io('key', ['N', 'T', C]), io('value', ['N', 'T', C])],
      initializers,
    }),
  };
}
