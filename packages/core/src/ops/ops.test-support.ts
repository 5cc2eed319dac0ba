/** Shared by the ops tests (the helpers live in testing/, exported for the engine packages' tests too). */
export { expectClose, randTensor } from '../testing/numeric.js';
