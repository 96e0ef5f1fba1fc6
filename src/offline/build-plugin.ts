/**
 * Vite plugin (Node, build only): bundles src/offline/sw.ts to /sw.js and writes into it the build's id and the
 * list of files to precache (with a hash of each file's bytes), so every build that changes any of them is a
 * new service worker, which replaces the old one and its cache.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import { buildIdOf, isPrecached, type OfflineBuild, type PrecacheEntry } from './policy.ts';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const PLACEHOLDER = '__OFFLINE_BUILD__';

export function offlineKiosk(): Plugin {
  let base = '/';
  return {
    name: 'offline-kiosk',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      base = config.base;
    },
    buildStart() {
      this.emitFile({ type: 'chunk', id: join(import.meta.dirname, 'sw.ts'), fileName: 'sw.js' });
    },
    generateBundle(_options, bundle) {
      const sw = bundle['sw.js'];
      if (!sw || sw.type !== 'chunk') return this.error('sw.js was not built');
      if (sw.imports.length) return this.error(`sw.js must stand alone, it imports ${sw.imports.join(', ')}`);
      const precache: PrecacheEntry[] = Object.values(bundle)
        .filter((f) => isPrecached(f.fileName))
        .map((f) => ({ url: base + f.fileName, revision: sha256(f.type === 'chunk' ? f.code : f.source).slice(0, 16) }))
        .sort((a, b) => (a.url < b.url ? -1 : 1));
      if (!precache.some((e) => e.url === `${base}index.html`)) return this.error('the kiosk page (index.html) is not in the bundle yet');
      const build: OfflineBuild = { id: buildIdOf(precache, sha256), precache };
      if (!sw.code.includes(PLACEHOLDER)) return this.error(`sw.js has no ${PLACEHOLDER} to fill in`);
      sw.code = sw.code.replaceAll(PLACEHOLDER, JSON.stringify(build));
    },
  };
}
