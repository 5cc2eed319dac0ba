import { getDefaultRegistry } from '@nextscale/core';
import { backend } from './backend.js';

getDefaultRegistry().register(backend);

export { backend };
