import { jsDenseEngine } from '../engines/js.js';
import { naiveEngine } from './naive-engine.test-support.js';
import { testDenseEngine } from './dense-conformance.js';

// The reference itself (gemmNT only: every fast-path test is skipped, as it should be for an engine without them).
testDenseEngine(jsDenseEngine, { label: 'js reference' });
// An independent correct engine with every fast path and float32 sums: the suite must pass it.
testDenseEngine(() => naiveEngine(), { label: 'naive loops' });
