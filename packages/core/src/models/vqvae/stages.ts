/**
 * The encoder and decoder as a list of named stages, run in order. Consecutive stages written as feature-map builds
 * (resnet blocks, upsampling, the output head) form a stretch that an engine with a `featureNet` fast path runs in one
 * call; attention stages go through the attention router, and an asymmetric conv (Downsample2x) runs op by op.
 * When an observer wants every module's output (onModule), every stage runs op by op so each can be reported.
 */
import { eagerFeatureOps, recordFeatureNet, runFeatureNetFast, type FeatureBuild, type FeatureNet } from '../../ops/index.js';
import { throwIfAborted } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { emit, type VQVAERunOptions } from './context.js';

export type Stage =
  | { name: string; build: FeatureBuild }
  | { name: string; forward: (x: Tensor) => Tensor }
  | { name: string; attend: (x: Tensor, run: VQVAERunOptions) => Promise<Tensor> };

type SingleStage = Exclude<Stage, { build: FeatureBuild }>;
type Part =
  | { kind: 'stretch'; stages: { name: string; build: FeatureBuild }[]; net?: FeatureNet }
  | { kind: 'single'; stage: SingleStage };

export class StageRunner {
  private readonly parts: Part[] = [];

  constructor(stages: readonly Stage[]) {
    for (const s of stages) {
      const last = this.parts[this.parts.length - 1];
      if ('build' in s) {
        if (last?.kind === 'stretch') last.stages.push(s);
        else this.parts.push({ kind: 'stretch', stages: [s] });
      } else {
        this.parts.push({ kind: 'single', stage: s });
      }
    }
  }

  async run(x: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    let h = x;
    for (const part of this.parts) {
      if (part.kind === 'single') {
        const s = part.stage;
        h = emit(run, s.name, 'attend' in s ? await s.attend(h, run) : s.forward(h));
        continue;
      }
      const fused = run.onModule ? null : runFeatureNetFast(() => (part.net ??= this.record(part.stages, h)), h);
      if (fused) {
        h = fused;
        throwIfAborted(run.signal);
      } else {
        for (const s of part.stages) h = emit(run, s.name, s.build(eagerFeatureOps, h));
      }
    }
    return h;
  }

  private record(stages: { name: string; build: FeatureBuild }[], x: Tensor): FeatureNet {
    const label = stages.length === 1 ? stages[0]!.name : `${stages[0]!.name} … ${stages[stages.length - 1]!.name}`;
    return recordFeatureNet(label, x.shape[1]!, stages.map((s) => s.build));
  }
}
