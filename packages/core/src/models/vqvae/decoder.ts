/** VAR's Decoder: latent (B, Cvae, h, w) → image (B, 3, h·f, w·f), unclamped. */
import type { Tensor } from '../../tensor.js';
import { AttnBlock, Conv2d, conv3x3, GroupNorm, ResnetBlock, Upsample2x } from './blocks.js';
import type { VQVAEConfig } from './config.js';
import type { VQVAERunOptions } from './context.js';
import { MidBlock } from './mid.js';
import type { Params } from './params.js';
import { StageRunner, type Stage } from './stages.js';

interface UpLevel {
  name: string;
  blocks: ResnetBlock[];
  attn: AttnBlock[];
  upsample: Upsample2x | null;
}

export class Decoder {
  private readonly convIn: Conv2d;
  private readonly mid: MidBlock;
  /** Indexed by level like VAR's `up` (up[0] is full resolution), so forward walks it backwards. */
  private readonly up: UpLevel[];
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(
    private readonly p: Params,
    cfg: VQVAEConfig,
  ) {
    const n = cfg.chMult.length;
    // The decoder runs one more resblock per level than the encoder.
    const perLevel = cfg.numResBlocks + 1;
    this.convIn = conv3x3(p.scope('conv_in'));
    this.mid = new MidBlock(p.scope('mid'), cfg.usingMidSa);
    this.up = Array.from({ length: n }, (_, i) => {
      const lp = p.scope(`up.${i}`);
      return {
        name: lp.name,
        blocks: Array.from({ length: perLevel }, (_, j) => new ResnetBlock(lp.scope(`block.${j}`))),
        attn:
          i === n - 1 && cfg.usingSa
            ? Array.from({ length: perLevel }, (_, j) => new AttnBlock(lp.scope(`attn.${j}`)))
            : [],
        upsample: i !== 0 ? new Upsample2x(lp.scope('upsample')) : null,
      };
    });
    this.normOut = new GroupNorm(p.scope('norm_out'));
    this.convOut = conv3x3(p.scope('conv_out'));
  }

  private runner?: StageRunner;

  async forward(z: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    this.runner ??= new StageRunner(this.stages());
    return this.runner.run(z, run);
  }

  private stages(): Stage[] {
    const name = this.p.name;
    const stages: Stage[] = [
      { name: `${name}.conv_in`, build: (ops, x) => ops.conv2d(x, this.convIn) },
      ...this.mid.stages(),
    ];
    for (let i = this.up.length - 1; i >= 0; i--) {
      const level = this.up[i];
      for (let j = 0; j < level.blocks.length; j++) {
        stages.push({ name: `${level.name}.block.${j}`, build: level.blocks[j].build });
        const attn = level.attn[j];
        if (attn) stages.push({ name: `${level.name}.attn.${j}`, attend: attn.forward.bind(attn) });
      }
      if (level.upsample) stages.push({ name: `${level.name}.upsample`, build: level.upsample.build });
    }
    stages.push(
      { name: `${name}.norm_out`, build: (ops, x) => ops.groupNorm(x, this.normOut) },
      { name: `${name}.conv_out`, build: (ops, x) => ops.conv2d(ops.silu(x), this.convOut) },
    );
    return stages;
  }
}
