/**
 * Policies decide which backend serves each attention site, per head group. They are pure functions of
 * the call description and the backends available; the router records every decision in the trace.
 */
import { BackendUnavailableError } from '../errors.js';
import { packageForBackend, type AvailableBackend } from '../plugs/registry.js';

/** How a head's logit bound β (a bound on |τ·q·k|) is known. */
export interface HeadBound {
  beta: number;
  source: 'l2-static' | 'row-norm' | 'entry' | 'cap';
}

/** What a policy sees about one attention site (a transformer block, a VAE attention layer). */
export interface AttentionCall {
  /** Stable name of the site, e.g. "var.blocks.3.attn" or "vae.decoder.mid.attn_1". */
  site: string;
  layer?: number;
  batch: number;
  heads: number;
  headDim: number;
  /** Softmax scale τ. */
  scale: number;
  /** 'block-causal' with scaleEnds for VAR's next-scale pyramid, 'none' for full attention. */
  mask: 'none' | 'block-causal';
  /** Cumulative token counts per scale (block-causal), or [L] for full attention. */
  scaleEnds: readonly number[];
  /** Per-head bounds when known before the call (l2-normalised heads); otherwise measured later. */
  headBounds?: readonly HeadBound[];
  /** Target absolute error for approximate backends. */
  epsilon?: number;
}

export interface HeadGroupDecision {
  heads: number[];
  backend: string;
  reason: string;
  beta?: number;
  betaSource?: HeadBound['source'];
  regime?: 'subcritical' | 'critical';
  degree?: number;
  rank?: number;
  /** A-priori certified error of the chosen approximation (per call bound may be tighter). */
  errBound?: number;
  estCostLowrank?: number;
  estCostExact?: number;
}

export interface AttentionPolicy {
  readonly name: string;
  decide(call: AttentionCall, available: readonly AvailableBackend[]): HeadGroupDecision[];
}

function allHeads(call: AttentionCall): number[] {
  return Array.from({ length: call.heads }, (_, h) => h);
}

function installedList(available: readonly AvailableBackend[]): string {
  return available.map((a) => `${a.descriptor.id}${a.probe.available ? '' : ' (unavailable)'}`).join(', ') || 'none';
}

/** Always the named backend; an error naming what is installed when it cannot run. */
export function explicitPolicy(id: string): AttentionPolicy {
  return {
    name: `explicit(${id})`,
    decide(call, available) {
      const found = available.find((a) => a.descriptor.id === id);
      if (!found) {
        throw new BackendUnavailableError(
          `attention backend "${id}" is not installed (installed: ${installedList(available)}); ` +
            `install ${packageForBackend(id)} and load it (import "${packageForBackend(id)}/register" or list it in nextscale.config)`,
          [{ id, reason: 'not installed' }],
        );
      }
      if (!found.probe.available) {
        throw new BackendUnavailableError(`attention backend "${id}" cannot run here: ${found.probe.reason}`, [
          { id, reason: found.probe.reason },
        ]);
      }
      return [{ heads: allHeads(call), backend: id, reason: `explicit choice of "${id}"` }];
    },
  };
}

/**
 * The first available backend of `order`; without an order, the exact backends by descending priority.
 * Approximate backends are only used when named.
 */
export function priorityPolicy(order?: readonly string[]): AttentionPolicy {
  return {
    name: order ? `priority(${order.join(',')})` : 'priority',
    decide(call, available) {
      const candidates = order
        ? order.map((id) => available.find((a) => a.descriptor.id === id) ?? { id })
        : [...available].filter((a) => a.descriptor.exact).sort((a, b) => effectivePriority(b) - effectivePriority(a));
      const failures: { id: string; reason: string }[] = [];
      for (const c of candidates) {
        if (!('descriptor' in c)) {
          failures.push({ id: c.id, reason: `not installed (install ${packageForBackend(c.id)})` });
        } else if (!c.probe.available) {
          failures.push({ id: c.descriptor.id, reason: c.probe.reason });
        } else {
          const rank = failures.length ? ` after ${failures.map((f) => f.id).join(', ')} failed` : '';
          return [
            { heads: allHeads(call), backend: c.descriptor.id, reason: `highest-priority available backend${rank}` },
          ];
        }
      }
      throw new BackendUnavailableError(
        `no attention backend available (${failures.map((f) => `${f.id}: ${f.reason}`).join('; ') || 'none installed'}); ` +
          `install ${packageForBackend('cpu')} and import "${packageForBackend('cpu')}/register"`,
        failures,
      );
    },
  };
}

function effectivePriority(a: AvailableBackend): number {
  return a.probe.priority ?? a.descriptor.priority;
}

/** The best available exact backend; used by policies that send part of the work to exact attention. */
export function bestExactBackend(available: readonly AvailableBackend[]): string {
  return priorityPolicy().decide({ heads: 0 } as AttentionCall, available)[0].backend;
}
