/**
 * The kiosk's offline cache, as pure decisions over plain data (unit-tested in Node; the service worker in
 * sw.ts only wires them to the Cache API): which build files are precached, what the caches are called,
 * how each request is served, and how a model file is keyed by its version (the manifest's sha256).
 */

/** One precached file: its URL path (from the site root) and a hash of its bytes. */
export interface PrecacheEntry {
  url: string;
  revision: string;
}

/** What the build writes into the service worker. */
export interface OfflineBuild {
  /** changes whenever any precached file's bytes change: a new build ⇒ new caches, the old ones dropped */
  id: string;
  precache: PrecacheEntry[];
}

const CACHE_PREFIX = 'ihm-';
/** The caches this service worker owns: the build's files, and models by version (kept across builds). */
export const shellCache = (buildId: string) => `${CACHE_PREFIX}shell-${buildId}`;
export const MODEL_CACHE = `${CACHE_PREFIX}models-v1`;

/**
 * Build files worth precaching: everything the kiosk (and the history page) may load — pages, code, styles,
 * workers, onnxruntime's .mjs/.wasm for both backends, the default model — but not the examples (they bring
 * their own TF.js model), the fleet page (served by the fleet server), `models/` (manifests are fetched
 * network-first and their files kept by version, see `route`), source maps or the service worker itself.
 */
export function isPrecached(fileName: string): boolean {
  if (fileName === 'sw.js' || fileName.endsWith('.map')) return false;
  if (/^(examples|assets\/examples|models)\//.test(fileName)) return false;
  if (fileName === 'fleet.html' || /^assets\/fleet-[^/]*\.js$/.test(fileName)) return false;
  return true;
}

/** The build id: a short hash over every precached URL and its revision, in a stable order. */
export function buildIdOf(entries: PrecacheEntry[], hash: (text: string) => string): string {
  const text = [...entries]
    .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
    .map((e) => `${e.url} ${e.revision}`)
    .join('\n');
  return hash(text).slice(0, 16);
}

/** Caches to delete once a build is active: this worker's caches of other builds (never other apps' caches, never the models). */
export function staleCaches(names: string[], buildId: string): string[] {
  return names.filter((n) => n.startsWith(`${CACHE_PREFIX}shell-`) && n !== shellCache(buildId));
}

/** The precache key a URL is served from: a page without its query (`/?model=…` → `/index.html`), a file as it is. */
export function precacheKey(url: URL, navigate: boolean): string {
  if (navigate && url.pathname.endsWith('/')) return `${url.pathname}index.html`;
  return navigate ? url.pathname : url.pathname + url.search;
}

export type Route =
  /** from this build's cache (falling back to the network if it is missing) */
  | { kind: 'precache'; key: string }
  /** network first; offline, the last copy whose model is cached (it may be a model manifest) */
  | { kind: 'manifest' }
  /** a model file some manifest named: served by version (see `modelKey`) */
  | { kind: 'model' }
  /** not ours to touch: the browser fetches it as if there were no service worker */
  | { kind: 'network' };

export interface RouteRequest {
  method: string;
  url: string;
  mode: string;
}

/**
 * How a request is served. Only same-origin GETs are ever handled: POSTs (sync batches), other origins (a
 * fleet server, an OTLP collector, a model on a CDN) and everything not listed go to the network untouched.
 * `isModelFile`: whether a manifest seen earlier named this URL as its model file.
 */
export function route(req: RouteRequest, origin: string, precached: ReadonlySet<string>, isModelFile: (url: string) => boolean): Route {
  if (req.method !== 'GET') return { kind: 'network' };
  const url = new URL(req.url);
  if (url.origin !== origin) return { kind: 'network' };
  const navigate = req.mode === 'navigate';
  const key = precacheKey(url, navigate);
  if (precached.has(key)) return { kind: 'precache', key };
  if (navigate) return { kind: 'network' };
  if (isModelFile(stripHash(url))) return { kind: 'model' };
  if (url.pathname.endsWith('.json')) return { kind: 'manifest' };
  return { kind: 'network' };
}

/** A URL without its fragment (the key a model file is remembered under). */
export const stripHash = (url: URL | string) => String(url).replace(/#.*$/, '');

/** What a model manifest says about its file: where it is (resolved against the manifest's URL) and its version. */
export interface ModelRef {
  fileUrl: string;
  sha256: string;
}

/** The model file and version a JSON document names, if it is a model manifest (`file` and a 64-hex `sha256`); otherwise undefined. */
export function modelRefOf(json: unknown, manifestUrl: string): ModelRef | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const { file, sha256 } = json as { file?: unknown; sha256?: unknown };
  if (typeof file !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  try {
    return { fileUrl: stripHash(new URL(file, manifestUrl)), sha256 };
  } catch {
    return undefined;
  }
}

/**
 * The cache key of a model file's bytes: its version, not its URL. A manifest naming a new version can only be
 * served bytes stored under that version, and bytes are stored under a version only after hashing to it.
 */
export const modelKey = (origin: string, sha256: string) => `${origin}/__offline__/model/${sha256}`;
/** The cache key of what the service worker remembers about a model file: the version (and manifest) that last named it. */
export const refKey = (origin: string, fileUrl: string) => `${origin}/__offline__/ref?file=${encodeURIComponent(fileUrl)}`;
/** The cache key of a manifest kept for offline use (its model is cached too). */
export const manifestKey = (origin: string, manifestUrl: string) => `${origin}/__offline__/manifest?url=${encodeURIComponent(manifestUrl)}`;

/** Whether a response may be stored: a plain same-origin 200 (no opaque, redirected-away, partial or error responses). */
export function cacheable(res: { ok: boolean; status: number; type: string }): boolean {
  return res.ok && res.status === 200 && (res.type === 'basic' || res.type === 'default');
}

/**
 * The model versions still needed, given every manifest remembered (its current ref and the one kept for
 * offline): anything else in the model cache can go.
 */
export function modelsToKeep(refs: (ModelRef | undefined)[]): Set<string> {
  return new Set(refs.flatMap((r) => (r ? [r.sha256] : [])));
}
