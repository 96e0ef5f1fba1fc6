/**
 * A reference model's agreement in the rollups (rollup `ag`): merged by addition at every resolution, old rollups
 * without it unchanged; the sync schema's bounds; the server's bounded merge; the series and totals; the metrics
 * export; the panel's agreement chart. In-process (the server's part against the real process: server-agreement.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { agreementRollups, emptyRollup, mergeRollup, type Rollup, rollFrames } from '../src/telemetry/rollup.ts';
import { parseBatch } from '../src/sync/payload.ts';
import { mergeBounded } from '../src/server/limits.ts';
import { seriesOf, totalsOf } from '../src/store/queries.ts';
import { F, FIELDS, packSeriesPage, pageFits } from '../src/store/series-page.ts';
import { metricsCsv, metricsJson } from '../src/store/metrics-file.ts';
import { chartNames, chartSpecs } from '../src/ui/panel/chart-specs.ts';
import { toOtlp } from '../src/sync/otlp.ts';
import type { PanelData } from '../src/ui/panel/data-source.ts';
import { batch, frames, MIN, MV, viaJson } from './server-helpers.ts';

const START = Date.UTC(2026, 0, 5, 10, 0);
const G = 'camera_id=cam-1&location=line-3';

/** Real 1-min rollups of cam-1 over `minutes`, with `verdicts` reference verdicts merged in per minute. */
function withAgreement(minutes: number, verdicts: { tp: number; fp: number; fn: number }[]): Rollup[] {
  const rows = [...rollFrames(frames('cam-1', START, minutes, 3), '1m').values()];
  for (const r of rows) for (const [i, c] of verdicts.entries()) mergeRollup(r, agreementRollups(r.start + 1000 * (i + 1), MV, r.g, c).find((d) => d.res === '1m')!);
  return rows;
}

describe('rollup ag', () => {
  it('a verdict is a delta at every resolution in the judged frame’s buckets, merged by addition', () => {
    const t = START + 61_234;
    const deltas = agreementRollups(t, MV, G, { tp: 3, fp: 1, fn: 2 });
    expect(deltas.map((d) => [d.res, d.start])).toEqual([['10s', START + 60_000], ['1m', START + 60_000], ['1h', START]]);
    for (const d of deltas) expect(d).toMatchObject({ frames: 0, ag: { frames: 1, tp: 3, fp: 1, fn: 2 }, first: Infinity, last: -Infinity });
    const r = mergeRollup(mergeRollup(emptyRollup('1m', START + 60_000, MV, G), deltas[1]!), agreementRollups(t + 5000, MV, G, { tp: 0, fp: 0, fn: 4 })[1]!);
    expect(r.ag).toEqual({ frames: 2, tp: 3, fp: 1, fn: 6 });
  });

  it('the hour equals the merge of its minutes with ag, and rollups without ag merge as before', () => {
    const minutes = withAgreement(3, [{ tp: 2, fp: 0, fn: 1 }, { tp: 1, fp: 1, fn: 0 }]);
    const hour = minutes.reduce((h, r) => mergeRollup(h, r), emptyRollup('1h', START, MV, G));
    expect(hour.ag).toEqual({ frames: 6, tp: 9, fp: 3, fn: 3 });
    const plain = [...rollFrames(frames('cam-1', START, 3, 3), '1m').values()];
    const h2 = plain.reduce((h, r) => mergeRollup(h, r), emptyRollup('1h', START, MV, G));
    expect(h2.ag).toBeUndefined();
    expect({ ...hour, ag: undefined }).toEqual({ ...h2, ag: undefined });
  });

  it('the server’s bounded merge carries ag', () => {
    const [a, b] = withAgreement(2, [{ tp: 5, fp: 2, fn: 1 }]);
    const into = emptyRollup('1h', START, MV, G);
    expect(mergeBounded(into, a!)).toBe(0);
    mergeBounded(into, b!);
    expect(into.ag).toEqual({ frames: 2, tp: 10, fp: 4, fn: 2 });
  });
});

describe('sync schema for ag', () => {
  const send = (rows: Rollup[]) => () => parseBatch(viaJson(batch('src-a', 1, rows)));
  it('accepts rollups with and without ag', () => {
    const rows = withAgreement(2, [{ tp: 5, fp: 2, fn: 1 }]);
    expect(send(rows)().rollups[0]!.ag).toEqual({ frames: 1, tp: 5, fp: 2, fn: 1 });
    expect(send([...rollFrames(frames('cam-1', START, 1, 3), '1m').values()])().rollups[0]!.ag).toBeUndefined();
  });
  it('refuses bad ag with a message naming the field', () => {
    const bad = (ag: unknown) => {
      const [r] = withAgreement(1, [{ tp: 1, fp: 0, fn: 0 }]);
      return send([{ ...r!, ag } as Rollup]);
    };
    expect(bad({ frames: 1, tp: -1, fp: 0, fn: 0 })).toThrow(/^rollups\.0\.ag\.tp: /);
    expect(bad({ frames: 1, tp: 1.5, fp: 0, fn: 0 })).toThrow(/^rollups\.0\.ag\.tp: /);
    expect(bad({ frames: 1, tp: 1, fp: 0 })).toThrow(/^rollups\.0\.ag\.fn: /);
    expect(bad({ frames: 1, tp: 1, fp: 0, fn: 0, by: {} })).toThrow(/^rollups\.0\.ag\.by: /);
    expect(bad({ frames: 0, tp: 2, fp: 0, fn: 0 })).toThrow(/^rollups\.0\.ag: agreement counts \(tp, fp, fn\) need at least one judged frame/);
    expect(bad({ frames: 2e9, tp: 0, fp: 0, fn: 0 })).toThrow(/^rollups\.0\.ag\.frames: /);
    expect(bad([1, 2, 3, 4])).toThrow(/^rollups\.0\.ag\b/);
  });
});

describe('series, totals and exports with ag', () => {
  const rows = withAgreement(3, [{ tp: 3, fp: 1, fn: 0 }]);
  rows[1]!.ag = undefined; // a minute the reference judged nothing in
  const series = seriesOf(rows, { from: START, to: START + 3 * MIN }, '1m');

  it('series columns: counts and precision, recall, F1 per bucket (NaN where none ran)', () => {
    const a = series.agreement;
    expect(a.frames).toEqual([1, NaN, 1]);
    expect(a.tp).toEqual([3, NaN, 3]);
    expect(a.precision[0]).toBeCloseTo(0.75);
    expect(a.recall[0]).toBe(1);
    expect(a.f1[0]).toBeCloseTo(6 / 7);
    expect(a.f1[1]).toBeNaN();
  });

  it('series pages keep the ag fields; a page of the older layout does not fit', () => {
    expect(FIELDS).toBe(F.agFn + 1);
    const page = packSeriesPage('1m', START, 'k', START, [[START, { v: new Float64Array(FIELDS).fill(1), classCounts: {} }]]);
    expect(pageFits(page)).toBe(true);
    expect(pageFits({ t: page.t, v: page.v.subarray(0, FIELDS - 4) })).toBe(false);
  });

  it('totals carry the range’s agreement, and none without a reference', () => {
    const m = rows.reduce((h, r) => mergeRollup(h, r), emptyRollup('1m', START, MV, '*'));
    expect(totalsOf(m).agreement).toMatchObject({ frames: 2, tp: 6, fp: 2, fn: 0, precision: 0.75, recall: 1 });
    expect(totalsOf(emptyRollup('1m', START, MV, '*')).agreement).toBeUndefined();
  });

  it('CSV and JSON exports include the reference columns where it ran', () => {
    const m = rows.reduce((h, r) => mergeRollup(h, r), emptyRollup('1m', START, MV, '*'));
    const csv = metricsCsv(series, totalsOf(m)).trim().split(/\r?\n/);
    const head = csv[0]!.split(',');
    for (const k of ['frames', 'tp', 'fp', 'fn', 'precision', 'recall', 'f1']) expect(head).toContain(`reference_${k}`);
    const cell = (row: number, name: string) => csv[row]!.split(',')[head.indexOf(name)];
    expect(cell(1, 'reference_frames')).toBe('1');
    expect(Number(cell(1, 'reference_f1'))).toBeCloseTo(6 / 7);
    expect(cell(2, 'reference_f1')).toBe('');
    const json = JSON.parse(metricsJson(series, totalsOf(m), { from: START, to: START + 3 * MIN }));
    expect(json.totals.agreement).toMatchObject({ frames: 2, tp: 6 });
    expect(json.series[0].agreement).toMatchObject({ frames: 1, tp: 3, fp: 1, fn: 0, recall: 1 });
    expect(json.series[1].agreement).toBeUndefined();
    // no reference: no reference columns
    const plain = seriesOf([...rollFrames(frames('cam-1', START, 1, 3), '1m').values()], { from: START, to: START + MIN }, '1m');
    expect(metricsCsv(plain).split('\n')[0]).not.toContain('reference_');
  });

  it('OTLP export carries the reference counts of a minute', () => {
    const req = toOtlp(batch('src-a', 1, rows));
    const names = req.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((x) => x.name)));
    expect(names).toEqual(expect.arrayContaining(['inference.reference.frames', 'inference.reference.tp', 'inference.reference.fp', 'inference.reference.fn']));
  });
});

describe('the panel’s agreement chart', () => {
  const rows = withAgreement(3, [{ tp: 3, fp: 1, fn: 0 }]);
  const data = (vitals: PanelData['vitals'], series = seriesOf(rows, { from: START, to: START + 3 * MIN }, '1m')) => ({ series, vitals }) as unknown as PanelData;
  const ref = { version: 'f'.repeat(64), perMinute: 6, runMs: 40, frames: 12, f1: 0.8, precision: 0.8, recall: 0.8, baselineF1: 0.9, baselineFrames: 30 };

  it('charts F1, precision, recall and the baseline F1 from the rollups', () => {
    const d = data([{ reference: ref, confidence: { baselineMean: 0.5 } } as never]);
    expect(chartNames(d)).toContain('agreement');
    const { spec, data: cols } = chartSpecs(d, String).agreement!;
    expect(spec.series.map((s) => s.label)).toEqual(['F1', 'precision', 'recall', 'baseline F1']);
    expect(spec.scales?.y?.range).toEqual([0, 1]);
    expect(cols[0]).toEqual(rows.map((r) => r.start));
    expect((cols[1] as number[])[0]).toBeCloseTo(6 / 7);
    expect(cols[4]).toEqual([0.9, 0.9, 0.9]);
  });

  it('shows the chart from the rollups alone (no reference running now), and not at all without one', () => {
    expect(chartNames(data([]))).toContain('agreement');
    expect((chartSpecs(data([]), String).agreement!.data[4] as number[]).every(Number.isNaN)).toBe(true);
    const plain = seriesOf([...rollFrames(frames('cam-1', START, 1, 3), '1m').values()], { from: START, to: START + MIN }, '1m');
    expect(chartNames(data([], plain))).not.toContain('agreement');
    expect(chartSpecs(data([], plain), String).agreement).toBeUndefined();
    // a series from a server that predates ag
    expect(chartNames(data([], { ...plain, agreement: undefined } as never))).not.toContain('agreement');
  });
});

describe('the page’s store and sync with ag', () => {
  it('verdicts added after their frames land in the frames’ buckets (memory store), and the sync sends them as the server’s schema takes them', async () => {
    const { MonitorStore } = await import('../src/store/store.ts');
    const { collect } = await import('../src/sync/sync-service.ts');
    const { MONITOR_DB } = await import('../src/hub/database.ts');
    const store = new MonitorStore({}, MONITOR_DB);
    expect((await store.open()).mode).toBe('memory'); // no IndexedDB in Node
    const recs = frames('cam-1', START, 2, 5);
    store.add(recs);
    await store.flush();
    // two verdicts on frames of the first minute, one on the second, arriving after the frames were stored
    const g = recs[0]!.g;
    store.addAgreement(recs[3]!.t, MV, g, { tp: 2, fp: 1, fn: 0 });
    store.addAgreement(recs[40]!.t, MV, g, { tp: 1, fp: 0, fn: 3 });
    store.addAgreement(recs[400]!.t, MV, g, { tp: 4, fp: 0, fn: 0 });
    await store.flush();
    const minutes = await store.rollupsBetween('1m', START, START + MIN);
    expect(minutes.map((r) => [r.start, r.frames, r.ag])).toEqual([
      [START, 300, { frames: 2, tp: 3, fp: 1, fn: 3 }],
      [START + MIN, 300, { frames: 1, tp: 4, fp: 0, fn: 0 }],
    ]);
    expect((await store.rollupsBetween('1h', START, START)).map((r) => r.ag)).toEqual([{ frames: 3, tp: 7, fp: 1, fn: 3 }]);
    expect((await store.totals({ from: START, to: START + 2 * MIN })).agreement).toMatchObject({ frames: 3, tp: 7, fp: 1, fn: 3 });
    const c = await collect(store, undefined, undefined, { rollupsUpTo: START - MIN, alertsAfter: '', flaggedAfter: '', baselines: {} }, START + MIN, false, true);
    const sent = parseBatch(viaJson(batch('src-a', 1, c.rollups)));
    expect(sent.rollups.map((r) => r.ag?.frames)).toEqual([2, 1]);
  });
});

describe('agreement per label (rollup ag.byClass)', () => {
  const perLabel = (person: [number, number, number], car?: [number, number, number]) => {
    const c = (x: [number, number, number]) => ({ tp: x[0], fp: x[1], fn: x[2] });
    const byClass = { person: c(person), ...(car ? { car: c(car) } : {}) };
    const sum = Object.values(byClass).reduce((a, x) => ({ tp: a.tp + x.tp, fp: a.fp + x.fp, fn: a.fn + x.fn }), { tp: 0, fp: 0, fn: 0 });
    return { ...sum, byClass };
  };

  it('is kept per label at every resolution and merged by addition; the hour is the merge of its minutes', () => {
    const t = START + 61_234;
    const a = agreementRollups(t, MV, G, perLabel([3, 1, 0], [0, 0, 2]));
    for (const d of a) expect(d.ag!.byClass).toEqual({ person: { tp: 3, fp: 1, fn: 0 }, car: { tp: 0, fp: 0, fn: 2 } });
    const hour = [a[2]!, agreementRollups(t + 120_000, MV, G, perLabel([1, 0, 1]))[2]!].reduce((h, r) => mergeRollup(h, r), emptyRollup('1h', START, MV, G));
    expect(hour.ag).toEqual({ frames: 2, tp: 4, fp: 1, fn: 3, byClass: { person: { tp: 4, fp: 1, fn: 1 }, car: { tp: 0, fp: 0, fn: 2 } } });
    // a verdict without labels (none detected by either model) adds no map
    expect(agreementRollups(t, MV, G, { tp: 0, fp: 0, fn: 0, byClass: {} })[0]!.ag).toEqual({ frames: 1, tp: 0, fp: 0, fn: 0 });
  });

  it('the server’s bounded merge keeps at most MAP_BOUNDS.classes labels and counts the rest as keys left out; totals still add up', () => {
    const into = emptyRollup('1h', START, MV, G);
    const many = Object.fromEntries(Array.from({ length: 1003 }, (_, i) => [`label-${i}`, { tp: 1, fp: 0, fn: 0 }]));
    const d = agreementRollups(START + 1000, MV, G, { tp: 1003, fp: 0, fn: 0, byClass: many })[2]!;
    expect(mergeBounded(into, d)).toBe(3);
    expect(Object.keys(into.ag!.byClass!)).toHaveLength(1000);
    expect(into.ag).toMatchObject({ frames: 1, tp: 1003 });
    mergeBounded(into, agreementRollups(START + 2000, MV, G, perLabel([2, 0, 0]))[2]!); // a label it has: merged
    expect(into.ag!.byClass!['label-0']).toEqual({ tp: 1, fp: 0, fn: 0 });
    expect(into.ag!.tp).toBe(1005);
  });

  it('the sync schema takes labelled counts and refuses bad ones, naming the field', () => {
    const send = (ag: unknown) => () => {
      const [r] = withAgreement(1, [{ tp: 1, fp: 0, fn: 0 }]);
      return parseBatch(viaJson(batch('src-a', 1, [{ ...r!, ag } as Rollup])));
    };
    expect(send({ frames: 1, ...perLabel([1, 0, 0]) })().rollups[0]!.ag!.byClass).toEqual({ person: { tp: 1, fp: 0, fn: 0 } });
    expect(send({ frames: 1, tp: 1, fp: 0, fn: 0, byClass: { person: { tp: -1, fp: 0, fn: 0 } } })).toThrow(/^rollups\.0\.ag\.byClass\.person\.tp: /);
    expect(send({ frames: 1, tp: 1, fp: 0, fn: 0, byClass: { person: { tp: 1, fp: 0 } } })).toThrow(/^rollups\.0\.ag\.byClass\.person\.fn: /);
    expect(send({ frames: 1, tp: 1, fp: 0, fn: 0, byClass: { ['x'.repeat(201)]: { tp: 1, fp: 0, fn: 0 } } })).toThrow(/^rollups\.0\.ag\.byClass\b/);
    expect(send({ frames: 1, tp: 1, fp: 0, fn: 0, byClass: { '': { tp: 1, fp: 0, fn: 0 } } })).toThrow(/^rollups\.0\.ag\.byClass\b/);
    const tooMany = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`l${i}`, { tp: 0, fp: 0, fn: 1 }]));
    expect(send({ frames: 1, tp: 0, fp: 0, fn: 1001, byClass: tooMany })).toThrow(/at most 1000 entries/);
  });

  it('the page’s store keeps them, and the range’s totals give them per label', async () => {
    const { MonitorStore } = await import('../src/store/store.ts');
    const { MONITOR_DB } = await import('../src/hub/database.ts');
    const store = new MonitorStore({}, MONITOR_DB);
    await store.open();
    const recs = frames('cam-1', START, 1, 5);
    store.add(recs);
    store.addAgreement(recs[3]!.t, MV, recs[0]!.g, perLabel([2, 1, 0], [1, 0, 1]));
    store.addAgreement(recs[30]!.t, MV, recs[0]!.g, perLabel([0, 0, 2]));
    await store.flush();
    const totals = await store.totals({ from: START, to: START + MIN });
    expect(totals.agreement).toMatchObject({ frames: 2, tp: 3, fp: 1, fn: 3, byClass: { person: { tp: 2, fp: 1, fn: 2 }, car: { tp: 1, fp: 0, fn: 1 } } });
  });
});
