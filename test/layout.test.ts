/**
 * The layout's promises that a reader relies on (docs/architecture.md): every source file says in its first
 * lines what it holds, and none grows past ~600 lines (split along its seams instead). Imports that run against
 * the flow are checked by dependency-cruiser (`npm run lint:deps`, part of `npm test`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const sources = (readdirSync(join(root, 'src'), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => join(root, 'src', f));

test('every source file starts with a comment saying what it holds', () => {
  const bare = sources.filter((f) => {
    const first = readFileSync(f, 'utf8')
      .split('\n')
      .find((l) => l.trim() && !l.startsWith('#!') && !l.startsWith('/// <reference'));
    return !/^\s*(\/\*\*|\/\/)/.test(first ?? '');
  });
  expect(bare.map((f) => relative(root, f))).toEqual([]);
});

test('no source file is over 600 lines', () => {
  const long = sources
    .map((f) => [relative(root, f), readFileSync(f, 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > 600);
  expect(long).toEqual([]);
});
