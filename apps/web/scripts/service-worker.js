// The app's service worker (the build writes it to dist/sw.js with the file list filled in): it keeps every
// file of the build, the shipped model included, in one cache per build, so that the page reloads and
// generates with no network. Hashed assets and the model are served from the cache first; the page itself
// from the network when there is one (a new build then takes over), else from the cache.
/* global self, caches */
const VERSION = '__VERSION__';
const FILES = __FILES__;
const CACHE = `nextscale-web-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(FILES.map((f) => new Request(f, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => k.startsWith('nextscale-web-') && k !== CACHE).map((k) => caches.delete(k))),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // The page: fresh when online; offline, the cached index.html whatever the query string.
    event.respondWith(
      fetch(request).catch(() =>
        caches.open(CACHE).then((c) => c.match('./', { ignoreSearch: true }).then((r) => r ?? c.match('index.html'))),
      ),
    );
    return;
  }
  event.respondWith(
    caches.open(CACHE).then((c) =>
      c.match(request, { ignoreSearch: true }).then(
        (hit) =>
          hit ??
          fetch(request).then((response) => {
            if (response.ok) void c.put(request, response.clone());
            return response;
          }),
      ),
    ),
  );
});
