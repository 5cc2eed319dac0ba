// The kernels compiled into one module (see scripts/build-wasm.mjs).
export { panelFloats, packB, tile, tileScratchBytes, dotRows } from './gemm';
export { attendRows, attnScratchBytes } from './attention';
export { layerNormRows, groupNorm, softmaxRows, siluN, geluTanhN, expN, expNeg64N } from './elementwise';
export { prefixFold, prefixRead, featurizeRows } from './prefix';
