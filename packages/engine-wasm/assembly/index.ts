// The dense engine's kernels, compiled into one module (see @nextscale/wasm-runtime's build-wasm).
export { panelFloats, packB, tile, tileScratchBytes, dotRows } from './gemm';
export { layerNormRows, groupNorm, softmaxRows, siluN, geluTanhN, expN, expNeg64N } from './elementwise';
