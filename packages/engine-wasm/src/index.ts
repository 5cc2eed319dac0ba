export { engine, VERSION, type WasmEngineOptions } from './engine.js';
export { createWasmDenseEngine, type WasmDenseEngine } from '@nextscale/core';
