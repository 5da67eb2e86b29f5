// The field app's service worker (served at /m/sw.js by dispatch.field.service_worker, which
// prepends VERSION and SHELL). Scope /m/: the app opens without a network, showing the last
// inbox and cases it saw; writes are never touched here (the page's outbox queues them).
/* global VERSION, SHELL */

const SHELL_CACHE = `field-shell-${VERSION}`;
const DATA_CACHE = "field-data";
const DATA_PATHS = [/^\/m\/api\/inbox$/, /^\/api\/cases\/\d+\/$/, /^\/m\/api\/cases\/\d+\/joint$/, /^\/api\/categories$/, /^\/api\/grids\/\d+\/$/];
const PHOTO_PATH = /^\/api\/cases\/\d+\/photos\/\d+$/;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await Promise.all(SHELL.map(async (url) => {
      try {
        const r = await fetch(url, { credentials: "same-origin", cache: "no-cache" });
        // never keep the login page as the app shell
        if (r.ok && !r.redirected) await cache.put(url, r);
      } catch (e) { /* offline during install: the next visit fills it */ }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("field-shell-") && key !== SHELL_CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

function offlineCopy(response) {
  const headers = new Headers(response.headers);
  headers.set("X-Field-Offline", "1");
  return response.blob().then((b) => new Response(b, { status: response.status, statusText: response.statusText, headers }));
}

async function networkFirst(request, cacheName, { fallbackUrl = null } = {}) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) cache.put(request, response.clone());
    return response;
  } catch (e) {
    const hit = (await cache.match(request, { ignoreSearch: false })) || (fallbackUrl && (await caches.match(fallbackUrl)));
    if (hit) return request.mode === "navigate" ? hit : offlineCopy(hit);
    return new Response(JSON.stringify({ message: "当前离线，且没有缓存的数据。· offline, and nothing kept on the phone" }), { status: 503, headers: { "Content-Type": "application/json", "X-Field-Offline": "1" } });
  }
}

async function staleWhileRevalidate(request) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(request);
  const fresh = fetch(request).then((r) => { if (r.ok) cache.put(request, r.clone()); return r; }).catch(() => null);
  return hit || (await fresh) || new Response("", { status: 504 });
}

async function cacheFirst(request) {
  const cache = await caches.open(DATA_CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const r = await fetch(request);
  if (r.ok) cache.put(request, r.clone());
  return r;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // writes go to the network (or the page's outbox)
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (request.mode === "navigate" && path.startsWith("/m/")) {
    event.respondWith(networkFirst(request, SHELL_CACHE, { fallbackUrl: "/m/" }));
  } else if (path.startsWith("/static/field/") || path.startsWith("/static/cockpit/live")) {
    event.respondWith(staleWhileRevalidate(request));
  } else if (PHOTO_PATH.test(path)) {
    event.respondWith(cacheFirst(request));
  } else if (DATA_PATHS.some((re) => re.test(path)) || (path === "/api/categories" && url.search)) {
    event.respondWith(networkFirst(request, DATA_CACHE));
  }
});
