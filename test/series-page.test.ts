import { describe, expect, it } from 'vitest';
import { packSeriesPage, type SeriesPoint, SERIES_PAGE_BUCKETS, seriesPageMs, seriesPageStart, unpackSeriesPage } from '../src/store/series-page.ts';

const point = (i: number): SeriesPoint => ({
  frames: 1800 + i,
  successRate: i % 7 ? 1 : 0.9875,
  malformed: i % 7 ? 0 : 3,
  dropped: i,
  meanConfidence: 0.4 + i / 1000,
  mean: [NaN, 1.25, 3.5, 140.125 + i, 2.5, 150],
  p50: [NaN, 1, 3, 139 + i, 2, 149],
  p95: [NaN, 2, 5, 180 + i, 4, 190],
  classCounts: i % 3 ? { 0: 40 + i, 2: 5 } : { 0: 40 + i },
  image: i % 2 ? { br: 101.5, co: 40.25, sa: 0.25, sh: 300.5, sc: 0.0078125 } : {},
  confP10: 0.35,
  confP90: 0.75,
  gauge: i % 5 ? {} : { heapMB: 41.5, longTasks: 0, up: 1 },
});

describe('series pages', () => {
  it('pack and unpack a page of points: exact where float32 holds the value, NaN and absent keys kept apart', () => {
    const start = seriesPageStart(Date.UTC(2026, 10, 25, 10, 17), '1m');
    expect(start).toBe(Date.UTC(2026, 10, 25, 0)); // 12-h pages at 1 min
    expect(seriesPageMs('1m')).toBe(SERIES_PAGE_BUCKETS * 60_000);
    // buckets with no frames are absent: every third one here
    const pts: [number, SeriesPoint][] = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 !== 2).map((i) => [start + i * 60_000, point(i)]);
    const page = packSeriesPage('1m', start, '1m|||', start + (SERIES_PAGE_BUCKETS - 1) * 60_000, pts);
    expect(page.upTo - page.start).toBe(seriesPageMs('1m') - 60_000);
    expect(page.v).toBeInstanceOf(Float32Array);
    expect(page.cls).toEqual([0, 2]);
    const back = unpackSeriesPage(structuredClone(page));
    expect(back.map(([t]) => t)).toEqual(pts.map(([t]) => t));
    for (let k = 0; k < pts.length; k++) {
      const [, a] = pts[k]!;
      const [, b] = back[k]!;
      expect(b.frames).toBe(a.frames);
      expect(b.classCounts).toEqual(a.classCounts);
      expect(b.image).toEqual(a.image); // these values are exact in float32
      expect(b.gauge).toEqual(a.gauge);
      expect(b.mean[0]).toBeNaN();
      expect(b.p95.slice(1)).toEqual(a.p95.slice(1));
      expect(b.meanConfidence).toBeCloseTo(a.meanConfidence, 6);
      expect(b.successRate).toBeCloseTo(a.successRate, 6);
    }
  });
});
