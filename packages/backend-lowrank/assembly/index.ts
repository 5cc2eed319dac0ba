// The low-rank backend's float64 prefix-sum kernels, compiled into one module (see @nextscale/wasm-runtime's build-wasm).
export { prefixFold, prefixRead, featurizeRows } from './prefix';
