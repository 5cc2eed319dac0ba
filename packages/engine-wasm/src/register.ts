import { registerEngine } from '@nextscale/core';
import { engine } from './engine.js';

registerEngine(engine);

export { engine };
