/**
 * The attention-backend registry is plugs/registry.ts's one implementation (kind 'attention'); this module adds
 * what only attention needs.
 */
import { NextscaleError } from '../errors.js';
import type { AttentionInstance } from './contract.js';
import { getDefaultRegistry } from '../plugs/registry.js';

/**
 * A fresh instance of the backend registered under `id` in the default registry. For benchmark scripts that
 * time one backend against an exact baseline chosen by whoever runs them (`node --import
 * @nextscale/backend-cpu/register …`), so that no backend package imports another.
 */
export async function createRegisteredBackend(id: string): Promise<AttentionInstance> {
  const b = getDefaultRegistry().get(id);
  if (!b) {
    const registered = getDefaultRegistry()
      .list()
      .map((x) => x.id);
    throw new NextscaleError(
      'E_BACKEND_UNAVAILABLE',
      `no '${id}' attention backend is registered (registered: [${registered.join(', ')}]) — run with node --import @nextscale/backend-${id}/register`,
    );
  }
  return b.create();
}
