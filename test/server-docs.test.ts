/**
 * The fleet server's settings are documented where an operator looks: every environment variable the server
 * reads (PORT, HOST and each FLEET_* named in src/server/) is in the table of src/server/config.ts's doc comment
 * and in docs/operations.md. Adding one without documenting it fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const server = join(root, 'src', 'server');
const code = (readdirSync(server, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(server, f), 'utf8')).join('\n');
const vars = [...new Set([...code.matchAll(/\b(FLEET_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]!))].sort();
const configDoc = /^\/\*\*[\s\S]*?\*\//.exec(readFileSync(join(server, 'config.ts'), 'utf8'))![0];
const operations = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');

it('every FLEET_* variable the server reads is in config.ts\'s table and in docs/operations.md', () => {
  expect(vars.length).toBeGreaterThan(30);
  expect(vars.filter((v) => !new RegExp(`\\| [^|\\n]*\\b${v}\\b`).test(configDoc))).toEqual([]);
  expect(vars.filter((v) => !new RegExp(`\\| [^|\\n]*\`${v}\``).test(operations))).toEqual([]);
  for (const v of ['PORT', 'HOST']) expect(configDoc).toContain(v);
});
