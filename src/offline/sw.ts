/**
 * The kiosk's service worker (built to /sw.js by build-plugin.ts, which writes in the build's file list):
 * precaches the build at install and serves it cache-first; keeps model manifests network-first and model
 * files by version; drops the previous build's cache once a new build is active. Registered by the kiosk only
 * (src/offline/register.ts). The decisions are in policy.ts.
 */
/// <reference lib="webworker" />
import { cacheable, manifestKey, MODEL_CACHE, modelKey, modelRefOf, modelsToKeep, type ModelRef, type OfflineBuild, refKey, route, shellCache, staleCaches, stripHash } from './policy.ts';

declare const self: ServiceWorkerGlobalScope;
/** Replaced by the build with the build id and its precache list. */
declare const __OFFLINE_BUILD__: OfflineBuild;

const BUILD = __OFFLINE_BUILD__;
const SHELL = shellCache(BUILD.id);
const origin = self.location.origin;
const precached = new Set(BUILD.precache.map((e) => e.url));

/** What the last manifest fetched said about a model file: its version and the manifest that named it (in memory, and in the model cache for restarts). */
interface Expect extends ModelRef {
  manifestUrl: string;
}
const expected = new Map<string, Expect>();
const expectKey = (fileUrl: string) => refKey(origin, fileUrl);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      const todo = [...BUILD.precache];
      // a few at a time; any failure fails the install, so a half-cached build never becomes active
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let e = todo.shift(); e; e = todo.shift()) {
            const res = await fetch(new Request(e.url, { cache: 'reload' }));
            if (!cacheable(res)) throw new Error(`precache ${e.url}: HTTP ${res.status}`);
            await cache.put(e.url, res.redirected ? await unredirected(res) : res);
          }
        }),
      );
      await self.skipWaiting(); // a kiosk has nobody to click "update": the new build takes over, the page reloads
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      await Promise.all(staleCaches(await caches.keys(), BUILD.id).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const r = route(req, origin, precached, (url) => expected.has(url) || new URL(url).pathname.endsWith('.onnx'));
  if (r.kind === 'network') return; // untouched: POSTs, other origins, anything not ours
  if (r.kind === 'precache') event.respondWith(fromShell(r.key, req));
  else if (r.kind === 'manifest') event.respondWith(manifest(req));
  else event.respondWith(modelFile(req, event));
});

async function fromShell(key: string, req: Request): Promise<Response> {
  return (await (await caches.open(SHELL)).match(key)) ?? fetch(req);
}

/** How long a manifest may take from the network before the copy kept for offline answers instead (a network that hangs rather than fails). */
const MANIFEST_PATIENCE_MS = 5000;

/** A model manifest (any same-origin .json): the network's copy when there is one, else the last one kept whose model is cached. */
async function manifest(req: Request): Promise<Response> {
  const models = await caches.open(MODEL_CACHE);
  const fromNetwork = fetch(req).then(
    (r) => (r.status < 500 ? r : undefined),
    () => undefined, // offline
  );
  let res = await Promise.race([fromNetwork, new Promise<'slow'>((ok) => setTimeout(() => ok('slow'), MANIFEST_PATIENCE_MS))]);
  const kept = await models.match(manifestKey(origin, req.url));
  if (res === 'slow') res = kept ? undefined : await fromNetwork;
  if (res) {
    if (!cacheable(res)) return res;
    const ref = modelRefOf(await res.clone().json().catch(() => undefined), req.url);
    if (ref) {
      await remember(models, { ...ref, manifestUrl: req.url });
      // kept for offline only once its model is cached too (else when it is: see keepModel)
      if (await models.match(modelKey(origin, ref.sha256))) await models.put(manifestKey(origin, req.url), res.clone());
      else pending.set(req.url, res.clone());
    }
    return res;
  }
  if (!kept) return Response.error();
  const ref = modelRefOf(await kept.clone().json().catch(() => undefined), req.url);
  if (ref) await remember(models, { ...ref, manifestUrl: req.url }); // its model is the cached one
  return kept;
}

/**
 * The page asks for a model to be kept for offline (a kiosk opened with `?model=`): on the first visit its own
 * fetches ran before this worker took over, so they were not seen. Same-origin manifests and files only.
 */
self.addEventListener('message', (event) => {
  const d = event.data as { type?: unknown; url?: unknown } | null;
  if (d?.type === 'keep-model' && typeof d.url === 'string') event.waitUntil(keepModelOf(d.url).catch(() => {}));
});

async function keepModelOf(manifestUrl: string) {
  const url = new URL(manifestUrl, origin);
  if (url.origin !== origin) return;
  const res = await manifest(new Request(url.href));
  const ref = res.ok ? modelRefOf(await res.json().catch(() => undefined), url.href) : undefined;
  if (!ref || new URL(ref.fileUrl).origin !== origin) return;
  const models = await caches.open(MODEL_CACHE);
  if (await models.match(modelKey(origin, ref.sha256))) return;
  const file = await fetch(ref.fileUrl);
  if (cacheable(file)) await keepModel(models, { ...ref, manifestUrl: url.href }, file);
}

/** Manifests fetched whose model is not cached yet: kept for offline when it is. */
const pending = new Map<string, Response>();

async function remember(models: Cache, e: Expect) {
  expected.set(e.fileUrl, e);
  await models.put(expectKey(e.fileUrl), new Response(JSON.stringify(e), { headers: { 'content-type': 'application/json' } }));
}

async function expectationFor(models: Cache, fileUrl: string): Promise<Expect | undefined> {
  const known = expected.get(fileUrl);
  if (known) return known;
  const stored = await models.match(expectKey(fileUrl));
  const e = stored ? ((await stored.json().catch(() => undefined)) as Expect | undefined) : undefined;
  if (e) expected.set(fileUrl, e);
  return e;
}

/**
 * A model file: the bytes stored under the version its manifest names, else the network's, stored under that
 * version only if they hash to it. Never the bytes of another version.
 */
async function modelFile(req: Request, event: FetchEvent): Promise<Response> {
  const url = stripHash(req.url);
  const models = await caches.open(MODEL_CACHE);
  const e = await expectationFor(models, url);
  if (!e) return fetch(req); // no manifest named it: not ours to version
  const hit = await models.match(modelKey(origin, e.sha256));
  if (hit) return hit;
  const res = await fetch(req);
  if (cacheable(res)) event.waitUntil(keepModel(models, e, res.clone()));
  return res;
}

async function keepModel(models: Cache, e: Expect, res: Response) {
  const bytes = await res.arrayBuffer();
  const sha = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (sha !== e.sha256) return; // the loader reports the mismatch; nothing is stored under a version it is not
  const headers = new Headers(res.headers);
  headers.delete('content-encoding');
  headers.set('content-length', String(bytes.byteLength));
  await models.put(modelKey(origin, sha), new Response(bytes, { status: 200, headers }));
  const waiting = pending.get(e.manifestUrl);
  if (waiting) {
    pending.delete(e.manifestUrl);
    await models.put(manifestKey(origin, e.manifestUrl), waiting);
  }
  await dropUnusedModels(models);
}

/** Deletes model versions no remembered or kept manifest names any more. */
async function dropUnusedModels(models: Cache) {
  const refs: (ModelRef | undefined)[] = [];
  for (const key of await models.keys()) {
    const path = new URL(key.url).pathname;
    if (path.endsWith('/__offline__/ref')) refs.push((await (await models.match(key))?.json().catch(() => undefined)) as ModelRef | undefined);
    else if (path.endsWith('/__offline__/manifest')) {
      const manifestUrl = new URL(key.url).searchParams.get('url') ?? '';
      refs.push(modelRefOf(await (await models.match(key))?.json().catch(() => undefined), manifestUrl));
    }
  }
  const keep = modelsToKeep(refs);
  for (const key of await models.keys()) {
    const m = /\/__offline__\/model\/([0-9a-f]{64})$/.exec(new URL(key.url).pathname);
    if (m && !keep.has(m[1]!)) await models.delete(key);
  }
}

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

/** A redirected response cannot answer a navigation: the same body and headers, not marked redirected. */
async function unredirected(res: Response): Promise<Response> {
  return new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers: res.headers });
}
