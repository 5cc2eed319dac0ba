/** VAR's Encoder: image (B,3,H,W) → latent (B, Cvae, H/f, W/f), f = 2^(levels−1). */
import { silu } from '../../ops/index.js';
import type { Tensor } from '../../tensor.js';
import { AttnBlock, Conv2d, conv3x3, Downsample2x, GroupNorm, ResnetBlock } from './blocks.js';
import type { VQVAEConfig } from './config.js';
import { emit, type VQVAERunOptions } from './context.js';
import { MidBlock } from './mid.js';
import type { Params } from './params.js';

interface DownLevel {
  name: string;
  blocks: ResnetBlock[];
  /** One per block at the deepest level when using_sa, else empty. */
  attn: AttnBlock[];
  downsample: Downsample2x | null;
}

export class Encoder {
  private readonly convIn: Conv2d;
  private readonly down: DownLevel[];
  private readonly mid: MidBlock;
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(
    private readonly p: Params,
    cfg: VQVAEConfig,
  ) {
    const n = cfg.chMult.length;
    this.convIn = conv3x3(p.scope('conv_in'));
    this.down = Array.from({ length: n }, (_, i) => {
      const lp = p.scope(`down.${i}`);
      return {
        name: lp.name,
        blocks: Array.from({ length: cfg.numResBlocks }, (_, j) => new ResnetBlock(lp.scope(`block.${j}`))),
        attn: i === n - 1 && cfg.usingSa ? Array.from({ length: cfg.numResBlocks }, (_, j) => new AttnBlock(lp.scope(`attn.${j}`))) : [],
        downsample: i !== n - 1 ? new Downsample2x(lp.scope('downsample')) : null,
      };
    });
    this.mid = new MidBlock(p.scope('mid'), cfg.usingMidSa);
    this.normOut = new GroupNorm(p.scope('norm_out'));
    this.convOut = conv3x3(p.scope('conv_out'));
  }

  async forward(x: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    const name = this.p.name;
    let h = emit(run, `${name}.conv_in`, this.convIn.forward(x));
    for (const level of this.down) {
      for (let j = 0; j < level.blocks.length; j++) {
        h = emit(run, `${level.name}.block.${j}`, level.blocks[j]!.forward(h));
        const attn = level.attn[j];
        if (attn) h = emit(run, `${level.name}.attn.${j}`, await attn.forward(h, run));
      }
      if (level.downsample) h = emit(run, `${level.name}.downsample`, level.downsample.forward(h));
    }
    h = await this.mid.forward(h, run);
    h = emit(run, `${name}.norm_out`, this.normOut.forward(h));
    return emit(run, `${name}.conv_out`, this.convOut.forward(silu(h)));
  }
}
