/**
 * The one test command (`npm test`): the default model and fixtures, two checks (imports follow the layout's
 * flow; everything type-checks), then every suite — Vitest (Node) and Playwright (Chromium) — each reporting
 * to the terminal and to JSON, then one closing line `N passed, N failed[, N skipped]` (each check counts as one).
 * Exit status is non-zero if any suite failed or ran nothing. `npm test -- unit` or `-- e2e` runs one side;
 * `npm run interop` (`-- interop`) only the checks that read a real export with third-party tools (test/interop/,
 * e2e/labelstudio.spec.ts), which the full run includes, and the one that needs torch (test/interop/yolo-export.test.ts:
 * `npm run yolo-venv` first), which it does not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = join(root, 'test-results');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const only = process.argv.slice(2); // e.g. `npm test -- unit`, `npm test -- e2e` or `npm test -- interop`
const interop = only.length > 0 && only.every((o) => o === 'interop');

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;
}

// the default model (converted once; the package's install does not do it) and the test footage
const model = run(bin('tsx'), ['scripts/build-model.ts']);
if (model !== 0) {
  console.log('building the default model failed: 0 passed, 1 failed');
  process.exit(1);
}
const fx = run('bash', ['scripts/fixtures.sh']);
if (fx !== 0) {
  console.log('fixtures failed: 0 passed, 1 failed');
  process.exit(1);
}

let passed = 0, failed = 0, skipped = 0;
const suites: string[] = [];

// the layout: every import follows the data flow (.dependency-cruiser.cjs), and everything type-checks
if (!only.length || only.includes('unit') || only.includes('layout')) {
  const checks = [
    ['layout: imports follow the flow', run(bin('depcruise'), ['src', '--config', '.dependency-cruiser.cjs'])],
    ['types: tsc --noEmit', run(bin('tsc'), ['--noEmit', '-p', '.'])],
  ] as const;
  for (const [, status] of checks) {
    if (status === 0) passed++;
    else failed++;
  }
  suites.push(`checks: ${checks.map(([name, status]) => `${name} ${status === 0 ? 'passed' : 'FAILED'}`).join('; ')}`);
}

if (!only.length || only.includes('unit') || interop) {
  const file = join(out, 'vitest.json');
  // interop also runs test/interop/yolo-export.test.ts (torch from `npm run yolo-venv`), which `npm test` leaves out
  const status = run(bin('vitest'), ['run', ...(interop ? ['test/interop'] : []), '--reporter=default', '--reporter=json', `--outputFile.json=${file}`], interop ? { INTEROP_TORCH: '1' } : {});
  if (existsSync(file)) {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests + (status !== 0 && r.numFailedTests === 0 ? 1 : 0);
    skipped += r.numPendingTests + r.numTodoTests;
    suites.push(`${interop ? 'interop (Vitest)' : 'unit'}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  } else {
    failed += 1;
    suites.push('unit: no report (the runner crashed)');
  }
}

if ((!only.length || only.includes('e2e') || interop) && existsSync(join(root, 'playwright.config.ts'))) {
  const file = join(out, 'playwright.json');
  const status = run(bin('playwright'), ['test', ...(interop ? ['e2e/labelstudio.spec.ts'] : []), '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: file });
  if (existsSync(file)) {
    const s = JSON.parse(readFileSync(file, 'utf8')).stats;
    const f = s.unexpected + s.flaky * 0;
    passed += s.expected + s.flaky;
    failed += f + (status !== 0 && f === 0 ? 1 : 0);
    skipped += s.skipped;
    suites.push(`${interop ? 'interop (Playwright)' : 'e2e'}: ${s.expected + s.flaky} passed, ${s.unexpected} failed${s.flaky ? ` (${s.flaky} flaky)` : ''}`);
  } else {
    failed += 1;
    suites.push('e2e: no report (the runner crashed)');
  }
}

console.log(`\n${suites.join('\n')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
