/**
 * A 3×3, stride-1, padding-1 convolution written as Winograd F(m×m, 3×3) in ONNX ops (Lavin & Gray 2015), for the
 * VQ-VAE decoder's large feature maps: per m×m output tile, (m+2)² multiplies per channel pair instead of 9·m², so the
 * GEMM work drops 2.25× (m = 2) or 4× (m = 4). The graph:
 *   x (1, Ci, H, W) → as Ci one-channel images → Conv with the fixed input transform Bᵀ·d·B as (m+2)² kernels of
 *   (m+2)×(m+2), stride m (the overlapping tiles) → (Ci, α², T) → Transpose → (α², Ci, T) → MatMul with the transformed
 *   weights U = G·g·Gᵀ (α², Co, Ci) → (α², Co, T) → MatMul with the output transform Aᵀ·M·A as an (m², α²) matrix →
 *   (m², Co, T) → DepthToSpace (DCR) → (1, Co, H, W) → + bias.
 * Only for H and W divisible by m (the tiles cover the map exactly). Rounding differs from a direct convolution (the
 * transforms add and scale before the products); the engine's tests bound the difference against core's reference.
 */
import { FLOAT, INT64, type Initializer, type NodeSpec } from './onnx-proto.js';

export type WinogradTile = 2 | 4;

// Lavin & Gray's matrices: input transform Bᵀ (α × α), weight transform G (α × 3), output transform Aᵀ (m × α)
const F2 = {
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};
const F4 = {
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

export interface WinogradConvSpec {
  /** (Co, Ci, 3, 3). */
  weight: Float32Array;
  bias: Float32Array | null;
  outChannels: number;
  inChannels: number;
  height: number;
  width: number;
}

/** Whether F(m×m, 3×3) can run this conv: 3×3, stride 1, padding 1, the map a whole number of tiles. */
export function winogradApplies(
  m: WinogradTile,
  k: { kernelH: number; kernelW: number; stride: number; padding: number; height: number; width: number },
): boolean {
  return (
    k.kernelH === 3 &&
    k.kernelW === 3 &&
    k.stride === 1 &&
    k.padding === 1 &&
    k.height % m === 0 &&
    k.width % m === 0 &&
    k.height >= m &&
    k.width >= m
  );
}

/** The nodes and initializers computing `output` = conv3x3(`input`) (names prefixed with `p`). */
export function winogradConv(
  m: WinogradTile,
  input: string,
  output: string,
  p: string,
  c: WinogradConvSpec,
): { nodes: NodeSpec[]; initializers: Initializer[] } {
  const { BT, G, AT } = m === 2 ? F2 : F4;
  const a = m + 2;
  const a2 = a * a;
  const { outChannels: co, inChannels: ci, height: h, width: w } = c;
  const th = h / m;
  const tw = w / m;
  // input transform: kernel (i, j) of the (α², 1, α, α) Conv weight is Bᵀ[i]ᵀ·Bᵀ[j] (V_ij = Σ_uv Bᵀ_iu d_uv Bᵀ_jv)
  const bIn = new Float32Array(a2 * a2);
  for (let i = 0; i < a; i++)
    for (let j = 0; j < a; j++)
      for (let u = 0; u < a; u++)
        for (let v = 0; v < a; v++) bIn[(i * a + j) * a2 + u * a + v] = BT[i][u] * BT[j][v];
  // weight transform in float64: U_ij[o][c] = Σ_uv G_iu g[o][c][u][v] G_jv
  const U = new Float32Array(a2 * co * ci);
  const g = c.weight;
  for (let o = 0; o < co; o++)
    for (let q = 0; q < ci; q++) {
      const base = (o * ci + q) * 9;
      for (let i = 0; i < a; i++) {
        // t = G_i · g (a row of 3)
        const t0 = G[i][0] * g[base] + G[i][1] * g[base + 3] + G[i][2] * g[base + 6];
        const t1 = G[i][0] * g[base + 1] + G[i][1] * g[base + 4] + G[i][2] * g[base + 7];
        const t2 = G[i][0] * g[base + 2] + G[i][1] * g[base + 5] + G[i][2] * g[base + 8];
        for (let j = 0; j < a; j++) U[((i * a + j) * co + o) * ci + q] = t0 * G[j][0] + t1 * G[j][1] + t2 * G[j][2];
      }
    }
  // output transform: Y_(r,s) = Σ_ij Aᵀ_ri Aᵀ_sj M_ij, rows (r·m + s) for DepthToSpace's DCR order
  const aOut = new Float32Array(m * m * a2);
  for (let r = 0; r < m; r++)
    for (let s = 0; s < m; s++)
      for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) aOut[(r * m + s) * a2 + i * a + j] = AT[r][i] * AT[s][j];
  const shape = (name: string, dims: number[]): Initializer => ({
    name: `${p}.${name}`,
    dataType: INT64,
    dims: [dims.length],
    data: dims,
  });
  const initializers: Initializer[] = [
    { name: `${p}.Bin`, dataType: FLOAT, dims: [a2, 1, a, a], data: bIn },
    { name: `${p}.U`, dataType: FLOAT, dims: [a2, co, ci], data: U },
    { name: `${p}.Aout`, dataType: FLOAT, dims: [m * m, a2], data: aOut },
    shape('s1', [ci, 1, h, w]),
    shape('s2', [ci, a2, th * tw]),
    shape('s3', [a2, co * th * tw]),
    shape('s4', [1, m * m * co, th, tw]),
  ];
  const nodes: NodeSpec[] = [
    { opType: 'Reshape', inputs: [input, `${p}.s1`], outputs: [`${p}.x1`] },
    {
      opType: 'Conv',
      inputs: [`${p}.x1`, `${p}.Bin`],
      outputs: [`${p}.d`],
      attributes: {
        kernel_shape: { ints: [a, a] },
        strides: { ints: [m, m] },
        pads: { ints: [1, 1, 1, 1] },
        dilations: { ints: [1, 1] },
        group: { i: 1 },
      },
    },
    { opType: 'Reshape', inputs: [`${p}.d`, `${p}.s2`], outputs: [`${p}.d2`] },
    { opType: 'Transpose', inputs: [`${p}.d2`], outputs: [`${p}.V`], attributes: { perm: { ints: [1, 0, 2] } } },
    { opType: 'MatMul', inputs: [`${p}.U`, `${p}.V`], outputs: [`${p}.M`] },
    { opType: 'Reshape', inputs: [`${p}.M`, `${p}.s3`], outputs: [`${p}.M2`] },
    { opType: 'MatMul', inputs: [`${p}.Aout`, `${p}.M2`], outputs: [`${p}.Y`] },
    { opType: 'Reshape', inputs: [`${p}.Y`, `${p}.s4`], outputs: [`${p}.Y2`] },
    {
      opType: 'DepthToSpace',
      inputs: [`${p}.Y2`],
      outputs: [c.bias ? `${p}.y` : output],
      attributes: { blocksize: { i: m }, mode: { s: 'DCR' } },
    },
  ];
  if (c.bias) {
    initializers.push({ name: `${p}.B`, dataType: FLOAT, dims: [co, 1, 1], data: c.bias });
    nodes.push({ opType: 'Add', inputs: [`${p}.y`, `${p}.B`], outputs: [output] });
  }
  return { nodes, initializers };
}
