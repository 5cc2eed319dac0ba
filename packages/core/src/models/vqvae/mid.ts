/** The resnet → attention → resnet middle section shared by the encoder and the decoder. */
import { AttnBlock, ResnetBlock } from './blocks.js';
import type { Params } from './params.js';
import type { Stage } from './stages.js';

export class MidBlock {
  private readonly block1: ResnetBlock;
  /** null when using_mid_sa is off (VAR puts an nn.Identity there). */
  private readonly attn1: AttnBlock | null;
  private readonly block2: ResnetBlock;

  constructor(
    private readonly p: Params,
    usingMidSa: boolean,
  ) {
    this.block1 = new ResnetBlock(p.scope('block_1'));
    this.attn1 = usingMidSa ? new AttnBlock(p.scope('attn_1')) : null;
    this.block2 = new ResnetBlock(p.scope('block_2'));
  }

  stages(): Stage[] {
    const name = this.p.name;
    const attn = this.attn1;
    return [
      { name: `${name}.block_1`, build: this.block1.build },
      ...(attn ? [{ name: `${name}.attn_1`, attend: attn.forward.bind(attn) }] : []),
      { name: `${name}.block_2`, build: this.block2.build },
    ];
  }
}
