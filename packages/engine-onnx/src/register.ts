import { registerEngine } from '@nextscale/core';
import { engine } from './descriptor.js';

registerEngine(engine);

export { engine };
