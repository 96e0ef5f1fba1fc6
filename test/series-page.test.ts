import { describe, expect, it } from 'vitest';
import { F, FIELDS, packSeriesPage, type SeriesPoint, SERIES_PAGE_BUCKETS, seriesPageMs, seriesPageStart, unpackSeriesPage } from '../src/store/series-page.ts';

/** A point whose values are all exact in float32 except meanConfidence and successRate. */
const point = (i: number): SeriesPoint => {
  const v = new Float64Array(FIELDS).fill(NaN);
  v[F.frames] = 1800 + i;
  v[F.successRate] = i % 7 ? 1 : 0.9875;
  v[F.malformed] = i % 7 ? 0 : 3;
  v[F.dropped] = i;
  v[F.meanConfidence] = 0.4 + i / 1000;
  v[F.confP10] = 0.375;
  v[F.confP90] = 0.75;
  for (let s = 1; s < 6; s++) {
    v[F.mean + s] = 140.125 + i + s;
    v[F.p50 + s] = 139 + i + s;
    v[F.p95 + s] = 180 + i + s;
  }
  if (i % 2) [101.5, 40.25, 0.25, 300.5, 0.0078125].forEach((x, k) => (v[F.image + k] = x));
  if (i % 5 === 0) [41.5, 0, 1].forEach((x, k) => (v[F.gauge + k] = x));
  return { v, classCounts: i % 3 ? { 0: 40 + i, 2: 5 } : { 0: 40 + i } };
};

describe('series pages', () => {
  it('pack and unpack a page of points: the same values (float32), NaN kept, class counts per point', () => {
    const start = seriesPageStart(Date.UTC(2026, 10, 25, 10, 17), '1m');
    expect(start).toBe(Date.UTC(2026, 10, 25, 0)); // 12-h pages at 1 min
    expect(seriesPageMs('1m')).toBe(SERIES_PAGE_BUCKETS * 60_000);
    // buckets with no frames are absent: every third one here
    const pts: [number, SeriesPoint][] = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 !== 2).map((i) => [start + i * 60_000, point(i)]);
    const page = packSeriesPage('1m', start, '1m|||', start + 59 * 60_000, pts);
    expect(page.v).toBeInstanceOf(Float32Array);
    expect(page.cls).toEqual([0, 2]);
    const back = unpackSeriesPage(structuredClone(page));
    expect(back.map(([t]) => t)).toEqual(pts.map(([t]) => t));
    for (let k = 0; k < pts.length; k++) {
      const a = pts[k]![1];
      const b = back[k]![1];
      expect(b.classCounts).toEqual(a.classCounts);
      for (let f = 0; f < FIELDS; f++) {
        if (Number.isNaN(a.v[f]!)) expect(b.v[f]).toBeNaN();
        else if (f === F.meanConfidence || f === F.successRate) expect(b.v[f]).toBeCloseTo(a.v[f]!, 6);
        else expect(b.v[f]).toBe(a.v[f]);
      }
    }
  });
});
