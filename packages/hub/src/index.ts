export { HubError, isHubError, type HubErrorCode } from './errors.js';
export type { HubEvent, HubEventHandler } from './events.js';
export { hubSettings, hfHome, DEFAULT_ENDPOINT, type HubSettings } from './settings.js';
export { downloadFile, resolveUrl, formatBytes, type DownloadOptions, type DownloadedFile } from './download.js';
export { repoFolder, blobPath, snapshotPath, findCached, cachedCommit, type CachedFile } from './cache.js';
export { catalogue, checkLoadedModel, findModel, RELEASED_MODELS, type ModelEntry } from './catalogue.js';
export {
  ensureModel,
  modelCacheState,
  removeModel,
  type FetchedModel,
  type ModelCacheState,
  type ModelFileRole,
} from './models.js';
export { checkFileName, checkRepo, checkRevision } from './names.js';
