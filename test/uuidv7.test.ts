/** UUIDv7 ids (src/lib/uuidv7.ts): the format, the time in the first 48 bits, order by time, no repeats. */
import { describe, expect, it } from 'vitest';
import { idTime } from '../src/lib/uuidv7.ts';
import { uuidv7 } from '../src/lib/uuidv7.ts';

describe('uuidv7', () => {
  it('is a version-7, variant-1 UUID carrying its millisecond time', () => {
    for (const t of [0, 1, 255, 256, 0xffffff, 0x1000000, Date.UTC(2026, 11, 2, 1, 2, 3, 456), 2 ** 48 - 1]) {
      const id = uuidv7(t);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(idTime(id)).toBe(t);
    }
  });

  it('sorts by time and does not repeat (across refills of its random pool)', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 5000 }, (_, i) => uuidv7(t0 + i));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const same = Array.from({ length: 2000 }, () => uuidv7(t0));
    expect(new Set(same).size).toBe(same.length);
  });
});
