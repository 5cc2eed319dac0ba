/**
 * A 3×3, stride-1, padding-1 convolution written as Winograd F(m×m, 3×3) in ONNX ops (Lavin & Gray 2015), for the
 * VQ-VAE decoder's large feature maps: per m×m output tile, (m+2)² multiplies per channel pair instead of 9·m², so the
 * GEMM work drops 2.25× (m = 2) or 4× (m = 4). The graph:
 *   x (1, Ci, H, W) → as Ci one-channel images → Conv with the fixed input transform Bᵀ·d·B as (m+2)² kernels of
 *   (m+2)×(m+2), stride m (the overlapping tiles) → (Ci, α², T) → Transpose → (α², Ci, T) → MatMul with the transformed
 *   weights U = G·g·Gᵀ (α², Co, Ci) → (α², Co, T) → MatMul with the output transform Aᵀ·M·A as an (m², α²) matrix →
 *   (m², Co, T) → DepthToSpace (DCR) → (1, Co, H, W) → + bias.
 * The map goes through in row strips of whole tiles (each with its neighbouring rows, Concat at the end), so the
 * transformed tiles, (m+2)²/m² times the map's size, never exist for the whole map at once: at the d16 decoder's 256²
 * maps they would be ~94 MB per tensor, and the decode's peak memory grew by ~0.6 GB with them unsplit.
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
  /** Where U's array comes from (feature-net-graph.ts hands its graph's slabs; a new array by default). */
  allocate?: (floats: number) => Float32Array;
}

/**
 * Floats of transformed tiles (input and product) one strip may hold: 16 MiB. The d16 decoder's 256² convs then run in
 * 16 strips of 4 tile rows (16 output rows), its 128² convs in 8.
 */
export const STRIP_FLOATS = 1 << 22;

/** The fewest row strips (a divisor of the tile rows) whose transformed tiles fit `limit` floats; `perTileRow` each. */
function stripCount(tileRows: number, perTileRow: number, limit: number): number {
  for (let s = 1; s < tileRows; s++) if (tileRows % s === 0 && (tileRows / s) * perTileRow <= limit) return s;
  return tileRows;
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
  stripFloats = STRIP_FLOATS,
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
      for (let u = 0; u < a; u++) for (let v = 0; v < a; v++) bIn[(i * a + j) * a2 + u * a + v] = BT[i][u] * BT[j][v];
  // weight transform in float64: U_ij[o][c] = Σ_uv G_iu g[o][c][u][v] G_jv
  const U = c.allocate?.(a2 * co * ci) ?? new Float32Array(a2 * co * ci);
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
    shape('axis2', [2]),
  ];
  const nodes: NodeSpec[] = [{ opType: 'Reshape', inputs: [input, `${p}.s1`], outputs: [`${p}.x1`] }];
  // Row strips of whole tiles, so that the transformed tiles (α²/m² times the map) stay small: each strip reads its
  // rows plus one above and below (the padding where the map ends) and writes its rows of the output
  const strips = stripCount(th, a2 * (ci + co) * tw, stripFloats);
  const rows = (th / strips) * m;
  const outs: string[] = [];
  for (let k = 0; k < strips; k++) {
    const q = `${p}.${k}`;
    const top = k === 0 ? 0 : k * rows - 1;
    const bottom = Math.min(h, (k + 1) * rows + 1);
    initializers.push(
      shape(`${k}.start`, [top]),
      shape(`${k}.end`, [bottom]),
      shape(`${k}.s2`, [ci, a2, (rows / m) * tw]),
      shape(`${k}.s3`, [a2, co * (rows / m) * tw]),
      shape(`${k}.s4`, [1, m * m * co, rows / m, tw]),
    );
    nodes.push(
      {
        opType: 'Slice',
        inputs: [`${p}.x1`, `${p}.${k}.start`, `${p}.${k}.end`, `${p}.axis2`],
        outputs: [`${q}.x`],
      },
      {
        opType: 'Conv',
        inputs: [`${q}.x`, `${p}.Bin`],
        outputs: [`${q}.d`],
        attributes: {
          kernel_shape: { ints: [a, a] },
          strides: { ints: [m, m] },
          pads: { ints: [k === 0 ? 1 : 0, 1, k === strips - 1 ? 1 : 0, 1] },
          dilations: { ints: [1, 1] },
          group: { i: 1 },
        },
      },
      { opType: 'Reshape', inputs: [`${q}.d`, `${p}.${k}.s2`], outputs: [`${q}.d2`] },
      { opType: 'Transpose', inputs: [`${q}.d2`], outputs: [`${q}.V`], attributes: { perm: { ints: [1, 0, 2] } } },
      { opType: 'MatMul', inputs: [`${p}.U`, `${q}.V`], outputs: [`${q}.M`] },
      { opType: 'Reshape', inputs: [`${q}.M`, `${p}.${k}.s3`], outputs: [`${q}.M2`] },
      { opType: 'MatMul', inputs: [`${p}.Aout`, `${q}.M2`], outputs: [`${q}.Y`] },
      { opType: 'Reshape', inputs: [`${q}.Y`, `${p}.${k}.s4`], outputs: [`${q}.Y2`] },
      {
        opType: 'DepthToSpace',
        inputs: [`${q}.Y2`],
        outputs: [`${q}.y`],
        attributes: { blocksize: { i: m }, mode: { s: 'DCR' } },
      },
    );
    outs.push(`${q}.y`);
  }
  const joined = c.bias ? `${p}.y` : output;
  if (strips === 1) nodes.push({ opType: 'Identity', inputs: outs, outputs: [joined] });
  else nodes.push({ opType: 'Concat', inputs: outs, outputs: [joined], attributes: { axis: { i: 2 } } });
  if (c.bias) {
    initializers.push({ name: `${p}.B`, dataType: FLOAT, dims: [co, 1, 1], data: c.bias });
    nodes.push({ opType: 'Add', inputs: [`${p}.y`, `${p}.B`], outputs: [output] });
  }
  return { nodes, initializers };
}
