import { registerPlug } from '@nextscale/core';
import { backend } from './backend.js';

registerPlug(backend);

export { backend };
