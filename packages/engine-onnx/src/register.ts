import { registerPlug } from '@nextscale/core';
import { engine } from './descriptor.js';

registerPlug(engine);

export { engine };
