/**
 * The attention policy from the resolved settings, checked against what is installed before any
 * weights are read, so that a missing or unusable backend fails fast with exit code 4.
 */
import {
  explicitPolicy,
  priorityPolicy,
  type AttentionPolicy,
  type AvailableBackend,
  type Registry,
} from '@nextscale/core';
import { normPolicy } from '../core-api.js';
import { backendError, configError } from '../errors.js';
import type { ResolvedSettings } from '../config/resolve.js';
import { installHint } from '../plugs/discover.js';

export interface BuiltPolicy {
  policy: AttentionPolicy;
  available: AvailableBackend[];
}

function installedList(available: readonly AvailableBackend[]): string {
  return available.map((a) => `${a.descriptor.id}${a.probe.available ? '' : ' (unavailable)'}`).join(', ') || 'none';
}

/**
 * The options each of the project's own backends reads in create() (their create() ignores other
 * keys, so a misspelt option would silently do nothing). Third-party backends are not checked here.
 */
export const KNOWN_BACKEND_OPTIONS: Record<string, readonly string[]> = {
  cpu: ['kernel', 'threads'],
  gpu: ['mode'],
  lowrank: ['epsilon', 'family', 'gMax', 'rMax', 'capFactor', 'exactWhenCheaper'],
};

/** The config's backendOptions may only name backends that were found, and known options of ours (a typo would otherwise be ignored). */
export function checkBackendOptions(
  options: Record<string, unknown> | undefined,
  available: readonly AvailableBackend[],
): void {
  for (const [id, given] of Object.entries(options ?? {})) {
    if (!available.some((a) => a.descriptor.id === id)) {
      throw configError(
        `backendOptions names backend '${id}', which is not installed (installed: ${installedList(available)})`,
        `${installHint(id)} and list its package in "backends", or remove it from "backendOptions"`,
      );
    }
    const known = KNOWN_BACKEND_OPTIONS[id];
    const unknown = known && Object.keys((given ?? {}) as object).find((k) => !known.includes(k));
    if (unknown)
      throw configError(
        `backendOptions.${id}.${unknown} is not an option of the ${id} backend`,
        `use one of ${known.join(', ')}, or remove it`,
      );
  }
}

export async function buildPolicy(settings: ResolvedSettings, registry: Registry): Promise<BuiltPolicy> {
  const available = await registry.probeAll();
  checkBackendOptions(settings.backendOptions.value, available);
  const epsilon = settings.epsilon.value;
  switch (settings.policy.value) {
    case 'explicit': {
      const id = settings.backend.value!;
      const found = available.find((a) => a.descriptor.id === id);
      if (!found) {
        throw backendError(
          `attention backend '${id}' is not installed (installed: ${installedList(available)})`,
          `${installHint(id)}, or list its package in nextscale.config "backends"; 'nextscale backends' shows what is here`,
        );
      }
      if (!found.probe.available) {
        throw backendError(
          `attention backend '${id}' cannot run here: ${found.probe.reason}`,
          "choose another with --backend (see 'nextscale backends')",
        );
      }
      return { policy: explicitPolicy(id), available };
    }
    case 'priority': {
      const order = settings.order.value;
      if (order) {
        const usable = order.filter((id) => available.some((a) => a.descriptor.id === id && a.probe.available));
        if (!usable.length) {
          throw backendError(
            `none of the backends in the priority order [${order.join(', ')}] is installed and available (installed: ${installedList(available)})`,
            `install one of them (${order.map(installHint).join(' / ')})`,
          );
        }
      }
      return { policy: priorityPolicy(order), available };
    }
    case 'norm':
      // kappa, gMax, rMax, betaCap: the cost model's knobs, set only in a config file; unset keeps core's defaults.
      return {
        policy: normPolicy({
          epsilon,
          kappa: settings.kappa.value,
          gMax: settings.gMax.value,
          rMax: settings.rMax.value,
          betaCap: settings.betaCap.value,
        }),
        available,
      };
  }
}
