/**
 * The camera condition as a recorded dimension (#29): the hub's `condition` tag (hub/condition-tag.ts, from the health
 * engine's conditionAt), tag keys that stay canonical with it, and the store's queries — dimensions, totals, series,
 * the log, the alerts — filtered by it as by camera_id and location.
 */
import { describe, expect, it } from 'vitest';
import { isTagKey, parseTagKey, tagKey, withTag } from '../src/telemetry/record.ts';
import { dimensionsOf, matchesTags, rollupMatches, seriesOf, totalsOf } from '../src/store/queries.ts';
import { emptyRollup, mergeRollup, rollFrames } from '../src/telemetry/rollup.ts';
import { HealthEngine } from '../src/health/engine.ts';
import { conditionTagger } from '../src/hub/condition-tag.ts';
import { frames, MIN, MV } from './server-helpers.ts';

const START = Math.floor((Date.now() - 20 * MIN) / MIN) * MIN;

describe('the condition tag', () => {
  it('withTag adds or replaces one tag and keeps the key canonical (sorted, URI-encoded); no value leaves the key as it is', () => {
    const g = tagKey({ location: 'line 3', camera_id: 'cam-1', zone: 'a&b' });
    const c = withTag(g, 'condition', 'colour-2');
    expect(c).toBe('camera_id=cam-1&condition=colour-2&location=line%203&zone=a%26b');
    expect(isTagKey(c)).toBe(true);
    expect(withTag(c, 'condition', 'mono')).toBe('camera_id=cam-1&condition=mono&location=line%203&zone=a%26b');
    expect(withTag(g, 'condition', undefined)).toBe(g);
    expect(withTag(g, 'condition', '')).toBe(g);
    expect(withTag('', 'condition', 'mono')).toBe('condition=mono');
  });

  it("the hub's tagger takes the engine's condition for the key's camera (a grey IR picture: mono, a colour one: colour); none known, no engine: the key as it is", () => {
    const engine = new HealthEngine();
    const tag = conditionTagger(() => engine);
    const [grey, colour] = frames('cam-1', START, 1, 1);
    grey!.i = { ...grey!.i!, sa: 0.01 };
    const g = grey!.g;
    // a camera the engine has never seen, no picture: nothing known
    expect(tag(g, MV)).toBe(g);
    engine.observe(grey!);
    const at = engine.conditionAt(MV, 'cam-1', 0.01);
    expect(at).toBe('mono');
    expect(parseTagKey(tag(g, MV, 0.01))).toEqual({ ...parseTagKey(g), condition: 'mono' });
    expect(isTagKey(tag(g, MV, 0.01))).toBe(true);
    // a reference verdict or a resource sample (no picture of its own) before any baseline: under the camera's latest picture's mode, as its frames
    expect(parseTagKey(tag(g, MV)).condition).toBe('mono');
    // a fresh engine decides by the picture alone
    const other = conditionTagger(() => new HealthEngine());
    expect(parseTagKey(other(colour!.g, MV, 0.3)).condition).toBe('colour');
    // the page's own `condition` metadata is replaced by the hub's
    expect(parseTagKey(other(withTag(g, 'condition', 'mine'), MV, 0.01)).condition).toBe('mono');
    expect(conditionTagger(() => undefined)(g, MV, 0.01)).toBe(g);
  });
});

describe('queries filtered by condition', () => {
  const day = frames('cam-1', START, 2, 3, { condition: 'colour' });
  const night = frames('cam-1', START + 2 * MIN, 2, 4, { condition: 'mono' });
  const untagged = frames('cam-2', START, 1, 5);
  const rollups = [...rollFrames([...day, ...night, ...untagged], '1m').values()];

  it('dimensionsOf lists the conditions rollups name, sorted', () => {
    expect(dimensionsOf(rollups)).toEqual({ mv: [MV], camera_id: ['cam-1', 'cam-2'], location: ['line-3'], condition: ['colour', 'mono'] });
    expect(dimensionsOf([{ mv: MV, g: tagKey({ camera_id: 'x' }) }]).condition).toEqual([]);
  });

  it('matchesTags and rollupMatches pass only the condition asked for (and with the other filters)', () => {
    const g = tagKey({ camera_id: 'cam-1', condition: 'mono', location: 'line-3' });
    expect(matchesTags(g, { condition: 'mono' })).toBe(true);
    expect(matchesTags(g, { condition: 'colour' })).toBe(false);
    expect(matchesTags(tagKey({ camera_id: 'cam-1' }), { condition: 'mono' })).toBe(false);
    expect(matchesTags(g, { condition: 'mono', camera_id: 'cam-2' })).toBe(false);
    expect(rollupMatches({ mv: MV, g }, { mv: MV, condition: 'mono', location: 'line-3' })).toBe(true);
    const frames = (f: { condition?: string }) => rollups.filter((r) => rollupMatches(r, f)).reduce((a, r) => a + r.frames, 0);
    expect(frames({ condition: 'colour' })).toBe(day.length);
    expect(frames({ condition: 'mono' })).toBe(night.length);
    expect(frames({})).toBe(day.length + night.length + untagged.length);
  });

  it('a series over a range with a condition holds only its buckets', () => {
    const range = { from: START, to: START + 5 * MIN };
    const all = seriesOf(rollups, range, '1m');
    const mono = seriesOf(rollups, { ...range, condition: 'mono' }, '1m');
    expect(all.t).toHaveLength(4);
    expect(mono.t).toEqual([START + 2 * MIN, START + 3 * MIN]);
    expect(mono.frames.reduce((a, n) => a + n, 0)).toBe(night.length);
    const merged = emptyRollup('1m', START, MV, '*');
    for (const r of rollups) if (rollupMatches(r, { condition: 'colour' })) mergeRollup(merged, r);
    expect(totalsOf(merged).frames).toBe(day.length);
  });

  it("the page's store (memory): dimensions, totals, series and the log by condition", async () => {
    const { MonitorStore } = await import('../src/store/store.ts');
    const { MONITOR_DB } = await import('../src/hub/database.ts');
    const store = new MonitorStore({}, MONITOR_DB);
    expect((await store.open()).mode).toBe('memory'); // no IndexedDB in Node
    store.add([...day, ...night, ...untagged].sort((a, b) => a.t - b.t));
    await store.flush();
    const range = { from: START, to: START + 5 * MIN };
    expect((await store.dimensions(range)).condition).toEqual(['colour', 'mono']);
    expect((await store.totals({ ...range, condition: 'mono' })).frames).toBe(night.length);
    expect((await store.totals({ ...range, condition: 'colour', camera_id: 'cam-1' })).frames).toBe(day.length);
    expect((await store.totals({ ...range, condition: 'colour', camera_id: 'cam-2' })).frames).toBe(0);
    const s = await store.series({ ...range, condition: 'colour' }, '1m');
    expect(s.frames.reduce((a, n) => a + n, 0)).toBe(day.length);
    const log = await store.log({ condition: 'mono', limit: 1000 });
    expect(log.rows.length).toBeGreaterThan(0);
    expect(log.rows.every((r) => parseTagKey(r.g).condition === 'mono')).toBe(true);
    expect(log.rows.length).toBe(night.length);
    // alerts by the condition they were judged in (the history page's Condition filter); one judged in none matches only no filter
    const alert = (id: string, t: number, condition?: string) => ({ id, rule: 'brightness-cusum', name: 'Lighting', severity: 'warning' as const, state: 'firing' as const, value: 1, threshold: 0, mv: MV, camera_id: 'cam-1', ...(condition ? { condition } : {}), t, since: t });
    for (const a of [alert('a1', START + MIN, 'colour'), alert('a2', START + 3 * MIN, 'mono'), alert('a3', START + 4 * MIN)]) await store.addAlert(a);
    expect((await store.alerts({ ...range, condition: 'mono' })).rows.map((a) => a.id)).toEqual(['a2']);
    expect((await store.alerts({ ...range, condition: 'colour' })).rows.map((a) => a.id)).toEqual(['a1']);
    expect((await store.alerts(range)).rows.map((a) => a.id)).toEqual(['a3', 'a2', 'a1']);
  });
});
