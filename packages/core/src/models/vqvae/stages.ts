/**
 * The encoder and decoder as a list of named stages, run in order. Consecutive stages written as feature-map builds
 * (resnet blocks, upsampling, the output head) form a stretch, recorded once as a feature net that an engine with a
 * `featureNet` fast path runs in one call (engines/calls.ts); attention stages go through the attention router, and
 * an asymmetric conv (Downsample2x) is a stage of its own. When an observer wants every module's output (onModule),
 * every stage runs op by op so each can be reported.
 */
import { featureNet, featureNetByOps } from '../../engines/calls.js';
import { recordFeatureNet, type FeatureBuild, type FeatureNet } from '../../ops/index.js';
import { throwIfAborted } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { emit, type VQVAERunOptions } from './context.js';

export type Stage =
  | { name: string; build: FeatureBuild }
  | { name: string; forward: (x: Tensor) => Promise<Tensor> }
  | { name: string; attend: (x: Tensor, run: VQVAERunOptions) => Promise<Tensor> };

type BuildStage = Extract<Stage, { build: FeatureBuild }>;
type SingleStage = Exclude<Stage, BuildStage>;
type Part = { kind: 'stretch'; stages: BuildStage[]; net?: FeatureNet } | { kind: 'single'; stage: SingleStage };

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
        h = emit(run, s.name, 'attend' in s ? await s.attend(h, run) : await s.forward(h));
      } else if (run.onModule) {
        for (const s of part.stages) h = emit(run, s.name, await featureNetByOps(record([s], h), h));
      } else {
        // the same net object every time: an engine keys what it compiled for the stretch by it
        h = await featureNet((part.net ??= record(part.stages, h)), h);
        throwIfAborted(run.signal);
      }
    }
    return h;
  }
}

function record(stages: readonly BuildStage[], x: Tensor): FeatureNet {
  const label = stages.length === 1 ? stages[0].name : `${stages[0].name} … ${stages[stages.length - 1].name}`;
  return recordFeatureNet(
    label,
    x.shape[1],
    stages.map((s) => s.build),
  );
}
