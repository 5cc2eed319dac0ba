/** Repository ids, revisions and file names, refused when they could point outside the cache. */
import { HubError } from './errors.js';

const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export function checkRepo(repo: string): void {
  if (!REPO.test(repo) || repo.includes('..')) {
    throw new HubError(
      'bad-name',
      `'${repo}' is not a Hugging Face repository id`,
      'use the form org/name (letters, digits, . _ -)',
    );
  }
}

/** A branch, tag or commit: one or more path segments (refs/pr/1), none of them `.` or `..`. */
export function checkRevision(revision: string): void {
  const parts = revision.split('/');
  if (!revision || parts.some((p) => !SEGMENT.test(p) || p === '.' || p === '..')) {
    throw new HubError('bad-name', `'${revision}' is not a usable revision`, 'use a branch, tag or commit hash');
  }
}

/** A file inside the repository: relative, `/`-separated, no `.`/`..` segments, no backslashes. */
export function checkFileName(file: string): void {
  const parts = file.split('/');
  if (
    !file ||
    file.startsWith('/') ||
    /^[A-Za-z]:/.test(file) ||
    file.includes('\\') ||
    file.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new HubError(
      'bad-name',
      `refusing file name '${file}': it could escape the model cache`,
      'a file name must be a relative path inside the repository, without .. or a leading /',
    );
  }
}

export const isCommitHash = (s: string) => /^[0-9a-f]{40}$/.test(s);
