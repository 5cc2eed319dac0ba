/** The model-parity suite (testing/model-parity.ts) on core's TypeScript reference kernels. */
import { testModelParity } from './model-parity.js';

testModelParity({ name: 'the TypeScript reference (js)' });
