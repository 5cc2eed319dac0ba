// Shared by the weights tests only (not exported from the package).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/var-tiny/', import.meta.url));
export const fixture = (name: string): string => FIXTURES + name;

interface FixtureConfig {
  state_dict_shapes: Record<'var' | 'vae', Record<string, number[]>>;
  state_dict_dtypes: Record<'var' | 'vae', Record<string, string>>;
}
export const CONFIG = JSON.parse(readFileSync(fixture('config.json'), 'utf8')) as FixtureConfig;
