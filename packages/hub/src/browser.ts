/**
 * The part of the hub package a web page can use (no node: imports): the catalogue of released names, the
 * resolve URL, the ETag forms, name checks and the typed errors. The download into the huggingface_hub cache is
 * Node's (the root entry); the web app keeps its own copy of a model in the browser's Cache Storage.
 */
export { HubError, isHubError, type HubErrorCode } from './errors.js';
export { checkLoadedModel, findModel, parseCatalogue, RELEASED_MODELS, type ModelEntry } from './released.js';
export { etagKind, normalizeEtag, type EtagKind } from './etag.js';
export { DEFAULT_ENDPOINT, formatBytes, resolveUrl } from './urls.js';
export { checkFileName, checkRepo, checkRevision } from './names.js';
