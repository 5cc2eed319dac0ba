/** The resnet → attention → resnet middle section shared by the encoder and the decoder. */
import type { Tensor } from '../../tensor.js';
import { AttnBlock, ResnetBlock } from './blocks.js';
import { emit, type VQVAERunOptions } from './context.js';
import type { Params } from './params.js';

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

  async forward(x: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    const name = this.p.name;
    let h = emit(run, `${name}.block_1`, this.block1.forward(x));
    if (this.attn1) h = emit(run, `${name}.attn_1`, await this.attn1.forward(h, run));
    return emit(run, `${name}.block_2`, this.block2.forward(h));
  }
}
