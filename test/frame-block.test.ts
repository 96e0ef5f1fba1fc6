import { describe, expect, it } from 'vitest';
import { BLOCK_MAX, BLOCK_SPAN_MS, packBlocks, unpackBlock } from '../src/store/frame-block.ts';
import { syntheticRecords } from '../e2e/pages/synthetic.ts';

describe('frame blocks', () => {
  it('round-trip every record exactly, split by size and time span, keyed by first id and count', () => {
    const recs = syntheticRecords(3000, Date.UTC(2026, 10, 25), 30, { seed: 5 });
    recs[7]!.m = 'output has a non-finite value (NaN) at 3';
    recs[8]!.e = 'inference-timeout';
    recs[9]!.k = [];
    recs[9]!.s = [];
    delete recs[9]!.h;
    recs[10]!.i = { brightness: 0.4 };
    recs[11]!.i = { br: 101.25, co: 40.5, sa: 0.125, sh: 300.5, sc: 0.0625 };
    recs[12]!.i = { br: 99.5, co: 39.75, sa: 0.25, sh: 280.25 };
    const shuffled = [...recs].reverse();
    const blocks = packBlocks(shuffled);
    expect(blocks.every((b) => b.key[1] <= BLOCK_MAX)).toBe(true);
    for (const b of blocks) {
      const rs = unpackBlock(b);
      expect(rs[0]!.id).toBe(b.key[0]);
      expect(rs.at(-1)!.t - rs[0]!.t).toBeLessThanOrEqual(BLOCK_SPAN_MS);
    }
    expect(blocks.flatMap(unpackBlock)).toEqual(recs);
    // image statistics are columnar (not one object per record)
    const withImg = blocks.find((b) => b.img)!;
    expect(withImg.img!.length).toBe(withImg.key[1] * 5);
    expect(withImg.i).toEqual({ 10: { brightness: 0.4 } });
  });

  it('a record costs ~100 bytes of columns (before LevelDB compression)', () => {
    const blocks = packBlocks(syntheticRecords(512, 0, 30));
    const b = blocks[0]!;
    const bytes = b.ids.length + [b.dt, b.l, b.d, b.s, b.k, b.kOff, b.h, b.hOff, b.mv, b.b, b.src, b.g].reduce((a, x) => a + x.byteLength, 0);
    expect(bytes / b.key[1]).toBeLessThan(130);
  });
});
