/**
 * `@nextscale/core/testing/var-tiny`: the var-tiny fixture's reference tensors and an exact attention context, for
 * other packages' tests (it reads the fixture at import, so it is a subpath of its own, not part of `/testing`).
 */
export * from '../models/var/test-support.js';
