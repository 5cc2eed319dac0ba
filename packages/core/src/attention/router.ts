/**
 * The router is what models call for attention: it asks the policy which backend serves each head
 * group of a site, runs the call on those backends' instances, stitches the heads back together and
 * records every decision and certificate in the trace. Models never call a backend directly.
 */
import { BackendUnavailableError, UsageError } from '../errors.js';
import { nextTurn } from '../scheduling.js';
import { Tensor, type TensorLike } from '../tensor.js';
import type { AttendSpec, AttentionInstance, AttentionResult, AttentionState } from './contract.js';
import { priorityPolicy, type AttentionCall, type AttentionPolicy, type HeadGroupDecision } from './policy.js';
import { getDefaultRegistry, type AvailableBackend, type Registry } from '../plugs/registry.js';
import type { AttentionTrace } from './trace.js';

export interface RouterOptions {
  registry?: Registry;
  policy?: AttentionPolicy;
  /** Options passed to each backend's create(), by backend id. */
  backendOptions?: Record<string, Record<string, unknown>>;
}

export class AttentionRouter {
  private constructor(
    readonly policy: AttentionPolicy,
    readonly available: readonly AvailableBackend[],
    private readonly instances: ReadonlyMap<string, AttentionInstance>,
  ) {}

  /** Probes every registered backend and creates every available one, all before the first call. */
  static async create(options: RouterOptions = {}): Promise<AttentionRouter> {
    const registry = options.registry ?? getDefaultRegistry();
    const policy = options.policy ?? priorityPolicy();
    const available = await registry.probeAll();
    for (const id of Object.keys(options.backendOptions ?? {})) {
      if (!available.some((a) => a.descriptor.id === id)) {
        const installed = available.map((a) => a.descriptor.id).join(', ') || 'none';
        throw new UsageError(
          `backendOptions names backend '${id}', which is not registered (registered: ${installed})`,
        );
      }
    }
    const instances = new Map<string, AttentionInstance>();
    await Promise.all(
      available
        .filter((a) => a.probe.available)
        .map(async (a) => {
          instances.set(a.descriptor.id, await a.descriptor.create(options.backendOptions?.[a.descriptor.id]));
        }),
    );
    return new AttentionRouter(policy, available, instances);
  }

  decide(call: AttentionCall): HeadGroupDecision[] {
    const groups = this.policy.decide(call, this.available);
    const covered = groups.flatMap((g) => g.heads).sort((a, b) => a - b);
    if (covered.length !== call.heads || covered.some((h, i) => h !== i)) {
      throw new Error(`policy ${this.policy.name} did not assign every head of ${call.site} exactly once`);
    }
    return groups;
  }

  private instance(id: string): AttentionInstance {
    const inst = this.instances.get(id);
    if (!inst) throw new BackendUnavailableError(`policy chose backend "${id}", which is not available here`);
    return inst;
  }

  /** One-shot attention (teacher forcing, VAE attention). */
  async attend(
    call: AttentionCall,
    q: TensorLike,
    k: TensorLike,
    v: TensorLike,
    spec: AttendSpec,
    trace: AttentionTrace,
  ): Promise<Tensor> {
    await nextTurn();
    const groups = this.decide(call);
    const parts = await Promise.all(
      groups.map(async (g) => {
        const result = await this.instance(g.backend).attend(
          selectHeads(q, g.heads, call.heads),
          selectHeads(k, g.heads, call.heads),
          selectHeads(v, g.heads, call.heads),
          { ...spec, epsilon: spec.epsilon ?? call.epsilon },
        );
        this.record(trace, call, g, result);
        return { heads: g.heads, result };
      }),
    );
    return mergeHeads(q.shape, parts, call.heads);
  }

  /** Incremental state for next-scale inference: one backend state per head group. */
  openState(call: AttentionCall, trace: AttentionTrace): RoutedState {
    const groups = this.decide(call);
    const states = groups.map((g) => {
      const beta = guaranteedBound(call, g.heads);
      return {
        group: g,
        state: this.instance(g.backend).createState({
          batch: call.batch,
          heads: g.heads.length,
          headDim: call.headDim,
          scale: call.scale,
          logitBound: beta,
          epsilon: call.epsilon,
          maxLength: call.scaleEnds.at(-1),
        }),
      };
    });
    for (const { group } of states)
      trace.add({ ...group, site: call.site, layer: call.layer, policy: this.policy.name });
    return new RoutedState(call, states, (g, result, scale) => this.record(trace, call, g, result, scale));
  }

  private record(
    trace: AttentionTrace,
    call: AttentionCall,
    g: HeadGroupDecision,
    result: AttentionResult,
    scale?: number,
  ): void {
    if (scale === undefined) {
      trace.add({ ...g, site: call.site, layer: call.layer, policy: this.policy.name, ...certFields(result) });
    } else if (result.certificate || result.exactReason) {
      // Per-scale entries only where something differs from the decision: a certificate, or an
      // approximate backend saying why it computed this scale exactly.
      trace.add({ ...g, site: call.site, layer: call.layer, scale, policy: this.policy.name, ...certFields(result) });
    }
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.dispose()));
  }
}

function certFields(result: AttentionResult) {
  const c = result.certificate;
  if (!c) return result.exactReason ? { exactReason: result.exactReason } : {};
  return {
    certifiedError: c.errBoundMax,
    certificate: c,
    degree: c.degree,
    rank: c.rank,
    beta: c.beta,
    regime: c.regime,
  };
}

/**
 * The bound a state may rely on for the whole generation: only static bounds (l2-normalised heads) are
 * guaranteed; a cap or a measured bound is not, so the backend must check it as scales arrive.
 */
function guaranteedBound(call: AttentionCall, heads: number[]): number | undefined {
  const bounds = heads.map((h) => call.headBounds?.[h]);
  if (bounds.some((b) => b?.source !== 'l2-static')) return undefined;
  return Math.max(...bounds.map((b) => b!.beta));
}

export class RoutedState {
  private scaleIndex = 0;
  constructor(
    private readonly call: AttentionCall,
    private readonly states: { group: HeadGroupDecision; state: AttentionState }[],
    private readonly onResult: (g: HeadGroupDecision, r: AttentionResult, scale: number) => void,
  ) {}

  async append(k: TensorLike, v: TensorLike): Promise<void> {
    await nextTurn();
    const H = this.call.heads;
    await Promise.all(
      this.states.map(({ group, state }) =>
        state.append(selectHeads(k, group.heads, H), selectHeads(v, group.heads, H)),
      ),
    );
  }

  async attend(q: TensorLike): Promise<Tensor> {
    const H = this.call.heads;
    const scale = this.scaleIndex++;
    const parts = await Promise.all(
      this.states.map(async ({ group, state }) => {
        const result = await state.attend(selectHeads(q, group.heads, H));
        this.onResult(group, result, scale);
        return { heads: group.heads, result };
      }),
    );
    return mergeHeads(q.shape, parts, H);
  }

  dispose(): void {
    for (const { state } of this.states) state.dispose();
  }
}

/** (B, H, L, d) → (B, heads.length, L, d); no copy when all heads are selected in order. */
export function selectHeads(t: TensorLike, heads: readonly number[], H: number): Tensor {
  const [B, , L, d] = t.shape as [number, number, number, number];
  if (heads.length === H && heads.every((h, i) => h === i)) return new Tensor(t.shape, t.data);
  const out = new Float32Array(B * heads.length * L * d);
  const block = L * d;
  for (let b = 0; b < B; b++) {
    heads.forEach((h, j) =>
      out.set(t.data.subarray((b * H + h) * block, (b * H + h + 1) * block), (b * heads.length + j) * block),
    );
  }
  return new Tensor([B, heads.length, L, d], out);
}

function mergeHeads(
  qShape: readonly number[],
  parts: { heads: number[]; result: AttentionResult }[],
  H: number,
): Tensor {
  if (parts.length === 1 && parts[0].heads.length === H) return parts[0].result.output;
  const [B, , L, d] = qShape as [number, number, number, number];
  const out = new Tensor([B, H, L, d]);
  const block = L * d;
  for (const { heads, result } of parts) {
    const src = result.output.data;
    for (let b = 0; b < B; b++) {
      heads.forEach((h, j) =>
        out.data.set(
          src.subarray((b * heads.length + j) * block, (b * heads.length + j + 1) * block),
          (b * H + h) * block,
        ),
      );
    }
  }
  return out;
}
