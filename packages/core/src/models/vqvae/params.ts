/** Scoped access to a validated state dict, so each module reads its tensors by their local names. */
import { WeightsError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';

export class Params {
  constructor(
    private readonly tensors: Map<string, Tensor>,
    readonly file: string,
    readonly prefix = '',
  ) {}

  scope(name: string): Params {
    return new Params(this.tensors, this.file, this.join(name));
  }

  get(name: string): Tensor {
    const key = this.join(name);
    const t = this.tensors.get(key);
    // Unreachable after validateVQVAEStateDict; kept so a module built by hand fails with the key's name.
    if (!t) throw new WeightsError(this.file, `missing ${key}`);
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(this.join(name));
  }

  /** Full module name, as in PyTorch's named_modules(). */
  get name(): string {
    return this.prefix;
  }

  private join(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }
}
