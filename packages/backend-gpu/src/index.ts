export { backend, VERSION } from './backend.js';
