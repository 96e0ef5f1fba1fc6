/** Benchmark page: a bare onnxruntime-web loop in a worker, no monitoring — the baseline the pipeline is held to. */
import * as Comlink from 'comlink';
import type { BareApi } from './bare-worker.ts';

const api = Comlink.wrap<BareApi>(new Worker(new URL('./bare-worker.ts', import.meta.url), { type: 'module' }));
Object.assign(globalThis, { bare: api });
document.body.dataset.ready = '1';
