/**
 * The VQ-VAE's building blocks (VAR's basic_vae.py), each reading its weights from a Params scope.
 */
import type { AttentionCall } from '../../attention/policy.js';
import { conv2d, groupNorm } from '../../engines/calls.js';
import { add, type FeatureBuild, type FeatureConv, type FeatureGroupNorm } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { GROUP_NORM_EPS, GROUP_NORM_GROUPS } from './config.js';
import type { VQVAERunOptions } from './context.js';
import type { Params } from './params.js';

/** A conv with symmetric padding: usable inside a feature net (ops/feature-net.ts). */
export class Conv2d implements FeatureConv {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    p: Params,
    readonly stride = 1,
    readonly padding = 0,
  ) {
    this.weight = p.get('weight');
    this.bias = p.get('bias');
  }

  forward(x: Tensor): Promise<Tensor> {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

/** 3×3 conv, stride 1, 'same' padding: the VAE's default conv. */
export function conv3x3(p: Params): Conv2d {
  return new Conv2d(p, 1, 1);
}

/** VAR's Normalize(): GroupNorm(32, C, eps=1e-6) with affine weights. */
export class GroupNorm implements FeatureGroupNorm {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly groups = GROUP_NORM_GROUPS;
  readonly eps = GROUP_NORM_EPS;
  constructor(p: Params) {
    this.weight = p.get('weight');
    this.bias = p.get('bias');
  }

  forward(x: Tensor): Promise<Tensor> {
    return groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
}

export class ResnetBlock {
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  /** 1×1 projection of the skip path; VAR only builds it when the channel count changes. */
  private readonly ninShortcut: Conv2d | null;

  constructor(p: Params) {
    this.norm1 = new GroupNorm(p.scope('norm1'));
    this.conv1 = conv3x3(p.scope('conv1'));
    this.norm2 = new GroupNorm(p.scope('norm2'));
    this.conv2 = conv3x3(p.scope('conv2'));
    this.ninShortcut = p.has('nin_shortcut.weight') ? new Conv2d(p.scope('nin_shortcut')) : null;
  }

  readonly build: FeatureBuild = (ops, x) => {
    const h1 = ops.conv2d(ops.silu(ops.groupNorm(x, this.norm1)), this.conv1);
    const h2 = ops.conv2d(ops.silu(ops.groupNorm(h1, this.norm2)), this.conv2);
    return ops.add(this.ninShortcut ? ops.conv2d(x, this.ninShortcut) : x, h2);
  };
}

/** (B, C, L) channel-major → (B, 1, L, C) token-major: the router's (B, H=1, L, d) layout. */
function channelsToTokens(
  src: Float32Array,
  srcOffsetChannels: number,
  B: number,
  C: number,
  L: number,
  srcChannels: number,
): Tensor {
  const out = new Float32Array(B * L * C);
  for (let b = 0; b < B; b++) {
    const base = (b * srcChannels + srcOffsetChannels) * L;
    const ob = b * L * C;
    for (let c = 0; c < C; c++) {
      const row = base + c * L;
      for (let i = 0; i < L; i++) out[ob + i * C + c] = src[row + i];
    }
  }
  return new Tensor([B, 1, L, C], out);
}

function tokensToChannels(t: Tensor, B: number, C: number, H: number, W: number): Tensor {
  const L = H * W;
  const out = new Float32Array(B * C * L);
  for (let b = 0; b < B; b++) {
    const ib = b * L * C;
    const ob = b * C * L;
    for (let i = 0; i < L; i++) for (let c = 0; c < C; c++) out[ob + c * L + i] = t.data[ib + i * C + c];
  }
  return new Tensor([B, C, H, W], out);
}

/** Single-head self-attention over the H·W positions of a feature map, served by the attention router. */
export class AttnBlock {
  private readonly norm: GroupNorm;
  private readonly qkv: Conv2d;
  private readonly projOut: Conv2d;
  readonly site: string;

  constructor(p: Params) {
    this.norm = new GroupNorm(p.scope('norm'));
    this.qkv = new Conv2d(p.scope('qkv'));
    this.projOut = new Conv2d(p.scope('proj_out'));
    this.site = `vae.${p.name}`;
  }

  async forward(x: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const L = H * W;
    const qkv = await this.qkv.forward(await this.norm.forward(x));
    // The qkv conv's channels are [q | k | v], C each (VAR reshapes to (B, 3, C, H, W)).
    const q = channelsToTokens(qkv.data, 0, B, C, L, 3 * C);
    const k = channelsToTokens(qkv.data, C, B, C, L, 3 * C);
    const v = channelsToTokens(qkv.data, 2 * C, B, C, L, 3 * C);
    const scale = C ** -0.5;
    const call: AttentionCall = {
      site: this.site,
      batch: B,
      heads: 1,
      headDim: C,
      scale,
      mask: 'none',
      scaleEnds: [L],
    };
    const o = await run.router.attend(call, q, k, v, { scale }, run.trace);
    return add(x, await this.projOut.forward(tokensToChannels(o, B, C, H, W)));
  }
}

/**
 * Halves H and W. VAR pads only right and bottom (by 1) before a stride-2 3×3 conv with no padding; being
 * asymmetric, it runs as a stage of its own (a feature net holds symmetric convs only).
 */
export class Downsample2x {
  private readonly weight: Tensor;
  private readonly bias: Tensor;
  constructor(p: Params) {
    this.weight = p.get('conv.weight');
    this.bias = p.get('conv.bias');
  }

  forward(x: Tensor): Promise<Tensor> {
    return conv2d(x, this.weight, this.bias, { stride: 2, padding: [0, 1, 0, 1] });
  }
}

/** Nearest ×2 then a 3×3 conv. */
export class Upsample2x {
  private readonly conv: Conv2d;
  constructor(p: Params) {
    this.conv = conv3x3(p.scope('conv'));
  }

  readonly build: FeatureBuild = (ops, x) => ops.conv2d(ops.upsampleNearest2x(x), this.conv);
}
