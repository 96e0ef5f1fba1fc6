/**
 * After `tsc -p tsconfig.lib.json` (npm run build:lib): the published modules must name `.js` files where the
 * sources name `.ts` — in declaration files' imports, and in the `new URL('./x.ts', import.meta.url)` of the
 * workers (tsc rewrites import specifiers, not strings) — and the default model's ONNX file sits beside its
 * manifest (dist/lib/models/), where `new URL('../../models/centernet-coco.onnx', import.meta.url)` finds it.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = process.argv[2] ?? join(root, 'dist', 'lib');

function walk(dir: string) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.d.ts')) writeFileSync(p, readFileSync(p, 'utf8').replace(/((?:from|import)\s*\(?\s*(['"])\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$3'));
    else if (p.endsWith('.js')) {
      const s = readFileSync(p, 'utf8');
      const t = s.replace(/(new URL\(\s*'\.{1,2}\/[^']+)\.ts'/g, "$1.js'");
      if (t !== s) writeFileSync(p, t);
    }
  }
}
walk(out);
const onnx = join(root, 'models', 'centernet-coco.onnx');
if (!existsSync(onnx)) throw new Error(`${onnx} is missing: run npm run build:model first`);
copyFileSync(onnx, join(out, 'models', 'centernet-coco.onnx'));
