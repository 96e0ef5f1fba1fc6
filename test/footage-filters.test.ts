/**
 * The browser's clips (scripts/fixtures.sh) and the Node tests and benchmark (bench/footage.ts) make a camera's night
 * mode and its faults with the same ffmpeg filters: each filter of bench/footage.ts appears, part by part, in the
 * fixture line that makes the clip for it (there with `enable` clauses for the stretch it applies to).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUMP, COVERED, DARKENED, DEFOCUS, NIGHT_IR } from '../bench/footage.ts';

const script = readFileSync(join(import.meta.dirname, '..', 'scripts', 'fixtures.sh'), 'utf8');
const line = (target: string) => script.split('\n').find((l) => l.startsWith(`make ${target} `)) ?? '';

describe('footage filters have one home', () => {
  it.each([
    ['vtest-compressed-day.y4m', NIGHT_IR],
    ['vtest-compressed-day.y4m', DEFOCUS],
    ['vtest-night-faults-long-day.y4m', NIGHT_IR],
    ['vtest-night-faults-long-day.y4m', COVERED],
    ['vtest-night-faults-long-day.y4m', BUMP],
    ['vtest-dark.y4m', DARKENED],
    ['vtest-night-frozen.y4m', NIGHT_IR],
  ])('%s is made with %s', (target, filter) => {
    const l = line(target);
    expect(l, `no 'make ${target}' line in scripts/fixtures.sh`).not.toBe('');
    for (const part of filter.split(',')) expect(l, `${target}: ${part}`).toMatch(new RegExp(`${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:enable=|[,"\\[])`));
  });
});
