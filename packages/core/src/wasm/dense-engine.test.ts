import { testDenseEngine } from '../testing/dense-conformance.js';
import { createWasmDenseEngine } from './dense-engine.js';

testDenseEngine(() => createWasmDenseEngine({ threads: 1 }), { label: 'wasm, 1 thread' });
testDenseEngine(async () => {
  const e = createWasmDenseEngine({ threads: 2, parallelThreshold: 0 });
  await e.ready();
  return e;
}, { label: 'wasm, 2 threads' });
