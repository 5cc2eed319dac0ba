// The exact backend's attention kernel, compiled into one module (see @nextscale/wasm-runtime's build-wasm).
export { attendRows, attnScratchBytes } from './attention';
