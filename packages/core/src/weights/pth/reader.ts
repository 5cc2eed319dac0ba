import { WeightsError } from '../../errors.js';
import type { OpenedFile } from '../io.js';
import type { WeightsReader } from '../types.js';

export async function parsePth(file: OpenedFile): Promise<WeightsReader> {
  throw new WeightsError(file.path, '.pth loading is not implemented yet');
}
