import { registerPlug } from '@nextscale/core';
import { engine } from './engine.js';

registerPlug(engine);

export { engine };
