/**
 * The layout is the data flow (docs/architecture.md): a folder imports only from folders before it in LAYERS,
 * never from one after it or beside it, so no folder cycle can form. Worker implementations are reached only
 * through their own folder's client module (the page holds a Comlink handle, never the worker's code).
 * `npm run lint:deps` checks it; `npm test` runs that check with the suites.
 */
const LAYERS = [
  ['types'], // shared types, no logic
  ['lib'], // tiny helpers named by what they do
  ['capture'], // camera → frames → tensors, image statistics
  ['inference'], // models, sessions, adapters (the inference worker)
  ['telemetry'], // frame records, histograms, rollups: the schema browser and server share
  ['health'], // vitals, drift, alert rules: pure, computed from records (it reads nothing from the store)
  ['store'], // IndexedDB: records, rollups, the log, and what health produces (alerts, baselines)
  ['flagging'], // frames to label, exports
  ['sync'], // to the fleet server and OTLP
  ['hub'], // the page's back-end worker: composes store, health, flagging and sync
  ['recorder', 'ui'], // the headless recorder; the elements
  ['offline'], // the kiosk's service worker
  ['pages', 'manifest-cli'], // the pages (kiosk, history, fleet) and the manifest CLI
];
const all = LAYERS.flat();
const rules = LAYERS.flatMap((layer, i) => {
  const later = all.filter((f) => !LAYERS.slice(0, i).flat().includes(f));
  return layer.map((folder) => ({
    name: `layer-${folder}`,
    comment: `src/${folder}/ imports only from folders before it in the flow (${LAYERS.slice(0, i).flat().join(', ') || 'none'})`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: `^src/(${later.filter((f) => f !== folder).join('|')})/` },
  }));
});

module.exports = {
  forbidden: [
    ...rules,
    {
      name: 'server-is-node-only',
      comment: 'src/server/ shares only pure code with the browser (types, lib, telemetry, store queries, health, sync payloads)',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/(capture|inference|hub|recorder|ui|offline|pages|manifest-cli)/' },
    },
    {
      name: 'nothing-imports-the-server',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/server/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'worker-through-its-client',
      comment: "a worker's implementation is imported only from its own folder (its client module starts it)",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/[a-z-]*worker\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/vite-env\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    parser: 'swc', // TypeScript 7 (the native compiler) has no JS API for dependency-cruiser to parse with
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
