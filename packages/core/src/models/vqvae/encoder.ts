/** VAR's Encoder: image (B,3,H,W) → latent (B, Cvae, H/f, W/f), f = 2^(levels−1). */
import type { Tensor } from '../../tensor.js';
import { AttnBlock, Conv2d, conv3x3, Downsample2x, GroupNorm, ResnetBlock } from './blocks.js';
import type { VQVAEConfig } from './config.js';
import type { VQVAERunOptions } from './context.js';
import { MidBlock } from './mid.js';
import type { Params } from './params.js';
import { StageRunner, type Stage } from './stages.js';

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
        attn:
          i === n - 1 && cfg.usingSa
            ? Array.from({ length: cfg.numResBlocks }, (_, j) => new AttnBlock(lp.scope(`attn.${j}`)))
            : [],
        downsample: i !== n - 1 ? new Downsample2x(lp.scope('downsample')) : null,
      };
    });
    this.mid = new MidBlock(p.scope('mid'), cfg.usingMidSa);
    this.normOut = new GroupNorm(p.scope('norm_out'));
    this.convOut = conv3x3(p.scope('conv_out'));
  }

  private runner?: StageRunner;

  async forward(x: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    this.runner ??= new StageRunner(this.stages());
    return this.runner.run(x, run);
  }

  private stages(): Stage[] {
    const name = this.p.name;
    const stages: Stage[] = [{ name: `${name}.conv_in`, build: (ops, x) => ops.conv2d(x, this.convIn) }];
    for (const level of this.down) {
      for (let j = 0; j < level.blocks.length; j++) {
        stages.push({ name: `${level.name}.block.${j}`, build: level.blocks[j].build });
        const attn = level.attn[j];
        if (attn) stages.push({ name: `${level.name}.attn.${j}`, attend: attn.forward.bind(attn) });
      }
      const down = level.downsample;
      if (down) stages.push({ name: `${level.name}.downsample`, forward: down.forward.bind(down) });
    }
    stages.push(
      ...this.mid.stages(),
      { name: `${name}.norm_out`, build: (ops, x) => ops.groupNorm(x, this.normOut) },
      { name: `${name}.conv_out`, build: (ops, x) => ops.conv2d(ops.silu(x), this.convOut) },
    );
    return stages;
  }
}
