/* LearnLens service worker.
 *
 * - Navigations go to the network; only when the network fails is the cached
 *   offline page shown. HTML pages (which may be authenticated) are never cached.
 * - Content-hashed assets under /static/ (e.g. /static/css/app.1a2b3c4d.css)
 *   are immutable, so they are served cache-first.
 * - Everything else is left to the browser.
 *
 * Bump CACHE_VERSION to drop all caches on the next activation.
 */
'use strict';

const CACHE_VERSION = 'v1';
const CACHE_NAME = 'learnlens-' + CACHE_VERSION;
const OFFLINE_URL = '/offline.html';
const HASHED_ASSET = /^\/static\/.+\.[0-9a-f]{8}\.[a-z0-9]+$/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE_NAME)
      .then((cache) => cache.add(new Request(OFFLINE_URL, { cache: 'reload' })))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name !== CACHE_NAME).map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;

  if (request.mode === 'navigate') {
    event.respondWith(
      fetch(request).catch(() =>
        caches.match(OFFLINE_URL).then((cached) => cached || Response.error())
      )
    );
    return;
  }

  const url = new URL(request.url);
  if (url.origin === self.location.origin && HASHED_ASSET.test(url.pathname)) {
    event.respondWith(cacheFirst(request));
  }
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE_NAME);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') {
    await cache.put(request, response.clone());
  }
  return response;
}
