import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildIdOf, cacheable, isPrecached, MODEL_CACHE, modelKey, modelRefOf, modelsToKeep, precacheKey, route, shellCache, staleCaches } from '../src/offline/policy.ts';
import { ONLINE_RETRY_MS, updateChecks } from '../src/offline/register.ts';

const origin = 'http://127.0.0.1:4173';
const precached = new Set(['/index.html', '/panel.html', '/assets/index-abc.js', '/assets/centernet-coco-x1.onnx']);
const noModels = () => false;
const get = (path: string, mode = 'cors') => ({ method: 'GET', url: new URL(path, origin).href, mode });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const A = sha('model A');
const B = sha('model B');

describe('offline policy', () => {
  it('precaches the kiosk and its files, not the examples, the fleet page, models/, maps or the worker itself', () => {
    for (const f of ['index.html', 'panel.html', 'assets/worker-x.js', 'assets/ort-wasm-simd-threaded-a.wasm', 'assets/centernet-coco-b.onnx']) expect(isPrecached(f), f).toBe(true);
    for (const f of ['sw.js', 'assets/index-a.js.map', 'examples/tfjs.html', 'examples/models/centernet.bin', 'assets/examples/tfjs-a.js', 'models/centernet-coco.onnx', 'models/centernet-coco.json', 'fleet.html', 'assets/fleet-a.js'])
      expect(isPrecached(f), f).toBe(false);
  });

  it('a build id changes with any file and not with the order files are listed in', () => {
    const files = [{ url: '/index.html', revision: 'r1' }, { url: '/assets/a.js', revision: 'r2' }];
    const hash = (t: string) => sha(t);
    expect(buildIdOf(files, hash)).toBe(buildIdOf([...files].reverse(), hash));
    expect(buildIdOf(files, hash)).not.toBe(buildIdOf([{ ...files[0]!, revision: 'r3' }, files[1]!], hash));
    expect(buildIdOf(files, hash)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('drops the other builds’ shells only: never the models, never other caches', () => {
    const names = [shellCache('old1'), shellCache('new'), MODEL_CACHE, 'someone-elses-cache', shellCache('old2')];
    expect(staleCaches(names, 'new')).toEqual([shellCache('old1'), shellCache('old2')]);
  });

  it('serves a page from the build whatever its query, files by their exact URL', () => {
    expect(route(get('/?model=/models/x.json&backend=wasm', 'navigate'), origin, precached, noModels)).toEqual({ kind: 'precache', key: '/index.html' });
    expect(route(get('/panel.html?camera_id=a', 'navigate'), origin, precached, noModels)).toEqual({ kind: 'precache', key: '/panel.html' });
    expect(route(get('/assets/index-abc.js'), origin, precached, noModels)).toEqual({ kind: 'precache', key: '/assets/index-abc.js' });
    expect(precacheKey(new URL('/assets/a.js?v=1', origin), false)).toBe('/assets/a.js?v=1');
  });

  it('leaves alone what is not a same-origin GET it knows: POSTs (sync), other origins, API calls, pages not built', () => {
    const untouched = [
      { method: 'POST', url: `${origin}/v1/batches`, mode: 'cors' },
      { method: 'GET', url: 'https://models.example.com/m.json', mode: 'cors' },
      { method: 'GET', url: 'https://cdn.example.com/m.onnx', mode: 'cors' },
      get('/v1/devices'),
      get('/fleet.html', 'navigate'),
      get('/examples/tfjs.html', 'navigate'),
      get('/assets/not-in-this-build.js'),
    ];
    for (const r of untouched) expect(route(r, origin, precached, noModels), `${r.method} ${r.url}`).toEqual({ kind: 'network' });
    // a cross-origin model file named by some manifest is still not ours
    expect(route(get('https://cdn.example.com/m.onnx'), origin, precached, () => true)).toEqual({ kind: 'network' });
  });

  it('manifests go network-first; a file a manifest named is a model file', () => {
    expect(route(get('/models/centernet-coco.json'), origin, precached, noModels)).toEqual({ kind: 'manifest' });
    const named = `${origin}/models/centernet-coco.onnx`;
    expect(route(get('/models/centernet-coco.onnx'), origin, precached, (u) => u === named)).toEqual({ kind: 'model' });
    expect(route(get('/models/centernet-coco.onnx#x'), origin, precached, (u) => u === named)).toEqual({ kind: 'model' });
  });

  it('reads a model manifest’s file (resolved against it) and version; anything else is not one', () => {
    expect(modelRefOf({ file: 'centernet-coco.onnx', sha256: A, input: {} }, `${origin}/models/centernet-coco.json`)).toEqual({ fileUrl: `${origin}/models/centernet-coco.onnx`, sha256: A });
    expect(modelRefOf({ file: '/other/m.onnx', sha256: A }, `${origin}/models/x.json`)?.fileUrl).toBe(`${origin}/other/m.onnx`);
    for (const j of [null, 'x', [], { file: 'm.onnx' }, { file: 'm.onnx', sha256: 'ABC' }, { file: 'm.onnx', sha256: A.toUpperCase() }, { file: 3, sha256: A }])
      expect(modelRefOf(j, `${origin}/m.json`)).toBeUndefined();
  });

  it('keys model bytes by version, so a new version can never be answered with the old bytes', () => {
    expect(modelKey(origin, A)).not.toBe(modelKey(origin, B));
    expect(modelKey(origin, A)).toBe(`${origin}/__offline__/model/${A}`);
    expect(modelsToKeep([{ fileUrl: 'u', sha256: A }, undefined, { fileUrl: 'v', sha256: A }])).toEqual(new Set([A]));
  });

  it('stores only plain same-origin 200s', () => {
    expect(cacheable({ ok: true, status: 200, type: 'basic' })).toBe(true);
    expect(cacheable({ ok: true, status: 200, type: 'default' })).toBe(true);
    expect(cacheable({ ok: false, status: 0, type: 'opaque' })).toBe(false);
    expect(cacheable({ ok: true, status: 200, type: 'cors' })).toBe(false);
    expect(cacheable({ ok: true, status: 206, type: 'basic' })).toBe(false);
    expect(cacheable({ ok: false, status: 404, type: 'basic' })).toBe(false);
  });
});

describe('looking for a new build', () => {
  const setup = (fails: number) => {
    vi.useFakeTimers();
    let online = true;
    const calls: number[] = [];
    const update = () => {
      calls.push(Date.now());
      return calls.length <= fails ? Promise.reject(new TypeError('Failed to fetch')) : Promise.resolve();
    };
    const checks = updateChecks(update, () => online);
    return { checks, calls, setOnline: (v: boolean) => (online = v) };
  };
  afterEach(() => vi.useRealTimers());

  it("after 'online' a failed check is tried again, later each time, until one reaches the server", async () => {
    const { checks, calls } = setup(3);
    const t0 = Date.now();
    checks.online();
    await vi.advanceTimersByTimeAsync(60_000);
    const [a, b, c] = ONLINE_RETRY_MS as [number, number, number];
    expect(calls.map((t) => t - t0)).toEqual([0, a, a + b, a + b + c]);
  });

  it('stops trying when the network goes again, and gives up after the last delay', async () => {
    const gone = setup(Infinity);
    gone.checks.online();
    await vi.advanceTimersByTimeAsync(1_500); // two tries
    gone.setOnline(false);
    gone.checks.offline();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(gone.calls).toHaveLength(2);
    vi.useRealTimers();
    const never = setup(Infinity);
    never.checks.online();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(never.calls).toHaveLength(ONLINE_RETRY_MS.length + 1);
  });

  it('a periodic check that fails waits for the next period', async () => {
    const { checks, calls } = setup(Infinity);
    checks.periodic();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(calls).toHaveLength(1);
  });
});
