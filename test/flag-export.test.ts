import { describe, expect, it } from 'vitest';
import { strFromU8, unzipSync } from 'fflate';
import type { FlaggedFrame } from '../src/flagging/types.ts';
import { clipBox, cocoDataset, labelsFor } from '../src/flagging/export/coco.ts';
import { yoloDataYaml, yoloLabels } from '../src/flagging/export/yolo.ts';
import { labelStudioConfig, labelStudioTasks } from '../src/flagging/export/labelstudio.ts';
import { MANIFEST_COLUMNS, manifestCsv } from '../src/flagging/export/csv.ts';
import { csvCell, csvRow } from '../src/lib/csv.ts';
import { metricsCsv, metricsJson, type MetricsSeries, type MetricsTotals } from '../src/store/metrics-file.ts';
import { buildLabellingZip } from '../src/flagging/export/zip.ts';
import type { MonitorStore } from '../src/store/store.ts';

// compile-time: what the store returns fits the metrics writers' structural types
type Fits<A, B> = A extends B ? true : false;
const seriesFits: Fits<Awaited<ReturnType<MonitorStore['series']>>, MetricsSeries> = true;
const totalsFits: Fits<Awaited<ReturnType<MonitorStore['totals']>>, MetricsTotals> = true;
void seriesFits, totalsFits;

// ---------- fixtures ----------

const LABELS = ['person', 'bicycle', 'car', 'say "hi"', '<b>bold & co</b>', "it's: #1 {x}"] as const;
const T0 = Date.UTC(2025, 4, 6, 12, 30, 15, 250);

const det = (classId: number, score: number, box: [number, number, number, number], label: string = LABELS[classId] ?? `c${classId}`) => ({ classId, label, score, box });

function frame(id: string, t: number, detections: FlaggedFrame['detections'], tags: Record<string, string>, extra: Partial<FlaggedFrame> = {}): FlaggedFrame {
  return { id, t, flaggedAt: t + 40, src: 'webcam', tags, mv: 'a1b2c3d4e5f6a7b8c9d0', backend: 'webgpu', width: 640, height: 480, detections, reasons: ['close-to-threshold', 'manual'], bytes: 48_000, quality: 0.9, ...extra };
}

const FRAMES: FlaggedFrame[] = [
  frame(
    '0196a1b2-0001-7000-8000-000000000001',
    T0,
    [
      det(0, 0.91, [100.123, 50.456, 200.789, 300.321]), // inside
      det(2, 0.42, [600.5, 400.25, 100, 120]), // past the right and bottom edges
      det(3, 0.33, [-20.3, -10.7, 60, 50]), // past the left and top edges
      det(1, 0.5, [700, 10, 50, 50]), // wholly outside: dropped
      det(0, 0.6, [10, 10, 0, 40]), // no width: dropped
    ],
    {
      camera_id: 'cam,1 "north"',
      location: '=HYPERLINK("http://evil.example","x")',
      device_id: 'pi-4',
      note: 'line one\nline two, with "quotes"\r\nand a comma, too',
      html: '<img src=x onerror=alert(1)>',
      formula: '=SUM(A1:A9)',
    },
  ),
  frame('0196a1b2-0002-7000-8000-000000000002', T0 + 1500, [], { camera_id: 'cam-2' }, { reasons: ['random'] }),
  frame(
    '0196a1b2-0003-7000-8000-000000000003',
    T0 + 61_000,
    [det(4, 0.77, [320, 240, 64.5, 32.25]), det(5, 0.29, [0, 0, 640, 480]), det(8, 0.55, [5, 5, 10, 10], 'mystery')],
    { camera_id: '+cam3', location: '-5', device_id: ' padded ', site: '@home' },
    { reasons: ['classes'] },
  ),
];

/** RFC 4180: records of fields; quoted fields may hold commas, CRLF and doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quote');
        if (text[i] === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
        else if (text[i] === '"') {
          i++;
          break;
        } else field += text[i++];
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`text after a closing quote at ${i}`);
    } else if (text[i] === ',') row.push(field), (field = ''), i++;
    else if (text[i] === '\r') {
      if (text[i + 1] !== '\n') throw new Error(`bare CR at ${i}`);
      row.push(field), rows.push(row), (row = []), (field = ''), (i += 2);
    } else if (text[i] === '\n' || text[i] === '"') throw new Error(`bare ${JSON.stringify(text[i])} at ${i}`);
    else field += text[i++];
  }
  if (field || row.length) throw new Error('last record not ended by CRLF');
  return rows;
}

const XML_UNESCAPES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const xmlUnescape = (s: string) => s.replace(/&(amp|lt|gt|quot|apos|#\d+);/g, (_, e: string) => XML_UNESCAPES[e] ?? String.fromCharCode(Number(e.slice(1))));

/** The `names:` mapping of a data.yaml, read back line by line (each value is a JSON string literal). */
function yamlNames(yaml: string): string[] {
  const lines = yaml.split('\n');
  const at = lines.indexOf('names:');
  return lines.slice(at + 1).filter(Boolean).map((l, i) => {
    const m = /^ {2}(\d+): (".*")$/.exec(l);
    expect(m, l).not.toBeNull();
    expect(Number(m![1])).toBe(i);
    return JSON.parse(m![2]!) as string;
  });
}

// ---------- COCO ----------

describe('cocoDataset', () => {
  const coco = cocoDataset(FRAMES, LABELS, T0 + 3600_000);

  it('numbers images 1..n in order, with file names, sizes and ISO capture times', () => {
    expect(coco.images.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(coco.images.map((i) => i.file_name)).toEqual(FRAMES.map((f) => `${f.id}.jpg`));
    expect(coco.images[0]).toMatchObject({ width: 640, height: 480, date_captured: '2025-05-06T12:30:15.250Z' });
    expect(coco.info.date_created).toBe('2025-05-06T13:30:15.250Z');
  });

  it('keeps ids consistent: unique annotation ids, existing images and categories', () => {
    const imageIds = new Set(coco.images.map((i) => i.id));
    const categoryIds = new Set(coco.categories.map((c) => c.id));
    expect(new Set(coco.annotations.map((a) => a.id)).size).toBe(coco.annotations.length);
    expect(coco.annotations.map((a) => a.id)).toEqual(coco.annotations.map((_, i) => i + 1));
    for (const a of coco.annotations) {
      expect(imageIds.has(a.image_id)).toBe(true);
      expect(categoryIds.has(a.category_id)).toBe(true);
    }
  });

  it('has a 1-based category per label, and one for a class id past the labels', () => {
    expect(coco.categories.slice(0, LABELS.length)).toEqual(LABELS.map((name, i) => ({ id: i + 1, name, supercategory: '' })));
    expect(coco.categories.find((c) => c.id === 9)?.name).toBe('mystery');
    expect(coco.categories.find((c) => c.id === 7)?.name).toBe('class_6'); // the hole between
    expect(cocoDataset([], LABELS).categories).toHaveLength(LABELS.length);
  });

  it('clips boxes to the image, drops what is left empty, and area = w*h', () => {
    // frame 1: 3 of 5 survive; frame 2: none; frame 3: all 3
    expect(coco.annotations.map((a) => a.image_id)).toEqual([1, 1, 1, 3, 3, 3]);
    const [inside, right, left] = coco.annotations;
    expect(inside!.bbox).toEqual([100.12, 50.46, 200.79, 300.32]);
    expect(right!.bbox).toEqual([600.5, 400.25, 39.5, 79.75]);
    expect(left!.bbox).toEqual([0, 0, 39.7, 39.3]);
    expect(right).toMatchObject({ category_id: 3, iscrowd: 0, score: 0.42 });
    for (const a of coco.annotations) {
      const img = coco.images[a.image_id - 1]!;
      const [x, y, w, h] = a.bbox;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(w).toBeGreaterThan(0);
      expect(h).toBeGreaterThan(0);
      expect(x + w).toBeLessThanOrEqual(img.width + 1e-9);
      expect(y + h).toBeLessThanOrEqual(img.height + 1e-9);
      expect(a.area).toBeCloseTo(w * h, 6);
      for (const v of a.bbox) expect(Math.round(v * 100) / 100).toBe(v);
    }
  });

  it('clipBox drops boxes outside, with no size, negative size or NaN', () => {
    expect(clipBox([700, 0, 10, 10], 640, 480)).toBeUndefined();
    expect(clipBox([10, 10, 0, 5], 640, 480)).toBeUndefined();
    expect(clipBox([10, 10, -5, 5], 640, 480)).toBeUndefined();
    expect(clipBox([NaN, 10, 5, 5], 640, 480)).toBeUndefined();
    expect(clipBox([639.999, 10, 5, 5], 640, 480)).toBeUndefined(); // less than 0.01 px left
    expect(clipBox([-1, -1, 1000, 1000], 640, 480)).toEqual([0, 0, 640, 480]);
  });
});

// ---------- YOLO ----------

describe('yoloLabels', () => {
  const coco = cocoDataset(FRAMES, LABELS);

  it('writes one normalised line per kept detection, values in [0, 1] with 6 decimals', () => {
    for (const f of FRAMES) {
      const text = yoloLabels(f);
      const lines = text.split('\n');
      expect(lines.pop()).toBe(''); // every line ends with '\n'
      for (const l of lines) {
        expect(l).toMatch(/^\d+( [01]\.\d{6}){4}$/);
        for (const v of l.split(' ').slice(1).map(Number)) expect(v >= 0 && v <= 1).toBe(true);
      }
    }
    expect(yoloLabels(FRAMES[1]!)).toBe('');
  });

  it('round-trips class ids and boxes to the COCO annotations (within 1e-3 px)', () => {
    FRAMES.forEach((f, i) => {
      const anns = coco.annotations.filter((a) => a.image_id === i + 1);
      const lines = yoloLabels(f).split('\n').filter(Boolean);
      expect(lines).toHaveLength(anns.length);
      lines.forEach((l, k) => {
        const [c, cx, cy, w, h] = l.split(' ').map(Number) as [number, number, number, number, number];
        const a = anns[k]!;
        expect(c + 1).toBe(a.category_id);
        const back = [(cx - w / 2) * f.width, (cy - h / 2) * f.height, w * f.width, h * f.height];
        back.forEach((v, j) => expect(Math.abs(v - a.bbox[j]!)).toBeLessThan(1e-3));
      });
    });
  });

  it('data.yaml lists nc and the names, which parse back exactly; no path, so the root is its own folder', () => {
    const names = [...LABELS, 'line\nbreak', 'tab\there', 'back\\slash', 'ключ 🚗', 'nel\u0085 ls\u2028'];
    const yaml = yoloDataYaml(names);
    expect(yaml.startsWith('train: images\nval: images\nnc: 11\nnames:\n  0: "person"\n')).toBe(true);
    expect(yamlNames(yaml)).toEqual(names);
    expect(yaml).not.toMatch(/[\u0085\u2028]/); // YAML 1.1 line breaks escaped
    expect(yaml.split('\n')).toHaveLength(4 + names.length + 1); // no name spilled onto another line
    expect(yoloDataYaml([])).toBe('train: images\nval: images\nnc: 0\nnames: {}\n');
  });
});

// ---------- Label Studio ----------

describe('labelStudioTasks', () => {
  const coco = cocoDataset(FRAMES, LABELS);
  const tasks = labelStudioTasks(FRAMES, LABELS);

  it('makes one task per frame with the image path, id, ISO time and tags as data', () => {
    expect(tasks).toHaveLength(FRAMES.length);
    expect(tasks[0]!.data).toEqual({ ...FRAMES[0]!.tags, image: `images/${FRAMES[0]!.id}.jpg`, inference_id: FRAMES[0]!.id, time: '2025-05-06T12:30:15.250Z' });
    expect(tasks[1]!.predictions).toEqual([{ model_version: FRAMES[1]!.mv, score: 0, result: [] }]);
    expect(tasks[2]!.predictions[0]!.score).toBe(0.77);
  });

  it('a tag cannot override the image, id or time', () => {
    const f = frame('x1', T0, [], { image: 'http://evil.example/a.jpg', inference_id: 'no', time: 'never' });
    expect(labelStudioTasks([f])[0]!.data).toMatchObject({ image: 'images/x1.jpg', inference_id: 'x1', time: '2025-05-06T12:30:15.250Z' });
  });

  it('gives boxes in percent (0–100), equal to the COCO boxes ×100/size', () => {
    FRAMES.forEach((f, i) => {
      const anns = coco.annotations.filter((a) => a.image_id === i + 1);
      const result = tasks[i]!.predictions[0]!.result;
      expect(result).toHaveLength(anns.length);
      result.forEach((r, k) => {
        const a = anns[k]!;
        expect(r).toMatchObject({ id: `${f.id}-${k}`, type: 'rectanglelabels', from_name: 'label', to_name: 'image', original_width: 640, original_height: 480, image_rotation: 0 });
        const { x, y, width, height } = r.value;
        for (const v of [x, y, width, height, x + width, y + height]) expect(v >= 0 && v <= 100 + 1e-9).toBe(true);
        expect(x).toBeCloseTo((a.bbox[0] * 100) / f.width, 9);
        expect(y).toBeCloseTo((a.bbox[1] * 100) / f.height, 9);
        expect(width).toBeCloseTo((a.bbox[2] * 100) / f.width, 9);
        expect(height).toBeCloseTo((a.bbox[3] * 100) / f.height, 9);
        expect(r.value.rectanglelabels).toEqual([coco.categories.find((c) => c.id === a.category_id)!.name]);
        expect(r.score).toBe(a.score);
      });
    });
  });

  it('a frame the reference model judged has its boxes as a second prediction, credited to the reference\'s version', () => {
    const f = FRAMES[2]!;
    const reference = { version: 'e'.repeat(64), f1: 0.4, detections: [{ classId: 0, label: 'person', score: 0.9, box: [64, 48, 64, 96] as [number, number, number, number] }] };
    const [task] = labelStudioTasks([{ ...f, reference }], LABELS);
    expect(task!.predictions).toHaveLength(2);
    expect(task!.predictions[0]).toEqual(tasks[2]!.predictions[0]);
    expect(task!.predictions[1]).toMatchObject({ model_version: 'e'.repeat(64), score: 0.9 });
    expect(task!.predictions[1]!.result).toEqual([expect.objectContaining({ id: `${f.id}-r0`, value: expect.objectContaining({ x: 10, y: 10, width: 10, height: 20 }) })]);
  });

  it('labelStudioConfig escapes label values and lists every label', () => {
    const labels = [...LABELS, 'a\nb', "x' onload='y"];
    const xml = labelStudioConfig(labels);
    expect(xml.startsWith('<View>\n  <Image name="image" value="$image"/>\n  <RectangleLabels name="label" toName="image">\n')).toBe(true);
    expect(xml.trimEnd().endsWith('</RectangleLabels>\n</View>')).toBe(true);
    const values = [...xml.matchAll(/<Label value="([^"<>]*)"\/>/g)].map((m) => m[1]!);
    expect(values).toHaveLength(labels.length);
    for (const v of values) expect(v).not.toMatch(/['<>]|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    expect(values.map(xmlUnescape)).toEqual(labels);
    expect(xml).toContain('<Label value="&lt;b&gt;bold &amp; co&lt;/b&gt;"/>');
    expect(xml).toContain('<Label value="say &quot;hi&quot;"/>');
  });
});

// ---------- CSV ----------

describe('csv', () => {
  it('csvCell quotes, doubles quotes and leaves plain text alone', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a\nb')).toBe('"a\nb"');
    expect(csvCell('a\r\nb')).toBe('"a\r\nb"');
    expect(csvCell(' padded')).toBe('" padded"');
    expect(csvCell('padded ')).toBe('"padded "');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(NaN)).toBe('');
    expect(csvCell(Infinity)).toBe('');
    expect(csvCell(0)).toBe('0');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvRow(['a', 1, 'b,c', undefined])).toBe('a,1,"b,c",\r\n');
  });

  it('csvCell neutralises formulas in text but keeps numbers numbers', () => {
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+cmd')).toBe("'+cmd");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\r=x')).toBe(`"'\r=x"`);
    expect(csvCell('=HYPERLINK("a","b")')).toBe(`"'=HYPERLINK(""a"",""b"")"`);
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(-0.25)).toBe('-0.25');
    expect(csvCell('-5')).toBe('-5');
    expect(csvCell('+1.5e3')).toBe('+1.5e3');
    expect(csvCell('a=b')).toBe('a=b');
  });

  it('manifestCsv parses back to the frames, metadata JSON included, formulas neutralised', () => {
    const rows = parseCsv(manifestCsv(FRAMES, LABELS));
    expect(rows[0]).toEqual([...MANIFEST_COLUMNS]);
    expect(rows).toHaveLength(FRAMES.length + 1);
    const rec = rows.slice(1).map((r) => Object.fromEntries(MANIFEST_COLUMNS.map((c, i) => [c, r[i]!])));
    expect(rec[0]).toEqual({
      inference_id: FRAMES[0]!.id,
      time: '2025-05-06T12:30:15.250Z',
      camera_id: 'cam,1 "north"',
      location: `'=HYPERLINK("http://evil.example","x")`,
      device_id: 'pi-4',
      model_version: 'a1b2c3d4e5f6a7b8c9d0',
      backend: 'webgpu',
      width: '640',
      height: '480',
      reasons: 'close-to-threshold;manual',
      detections: '5',
      top_label: 'person',
      top_score: '0.91',
      metadata: rec[0]!.metadata,
      verdict: '',
    });
    const { camera_id: _c, location: _l, device_id: _d, ...meta0 } = FRAMES[0]!.tags;
    expect(JSON.parse(rec[0]!.metadata!)).toEqual(meta0);
    expect(rec[1]).toMatchObject({ camera_id: 'cam-2', location: '', device_id: '', reasons: 'random', detections: '0', top_label: '', top_score: '', metadata: '{}' });
    expect(rec[2]).toMatchObject({ camera_id: "'+cam3", location: '-5', device_id: ' padded ', top_label: '<b>bold & co</b>', top_score: '0.77' });
    expect(JSON.parse(rec[2]!.metadata!)).toEqual({ site: '@home' });
    // nothing a spreadsheet would run
    for (const r of rows) for (const cell of r) expect(/^[=+@\t\r]/.test(cell) || (/^-/.test(cell) && Number.isNaN(Number(cell)))).toBe(false);
  });
});

// ---------- metrics ----------

describe('metrics', () => {
  const STAGE_KEYS = ['capture', 'queue', 'preprocess', 'inference', 'postprocess', 'total'] as const;
  const col3 = (a: number, b: number, c: number) => [a, b, c];
  const perStage = (f: (i: number) => number[]) => Object.fromEntries(STAGE_KEYS.map((s, i) => [s, f(i)]));
  const series: MetricsSeries = {
    res: '1m',
    t: [T0 - (T0 % 60_000), T0 - (T0 % 60_000) + 60_000, T0 - (T0 % 60_000) + 120_000],
    frames: col3(120, 60, 3),
    successRate: col3(1, 0.95, NaN),
    malformed: col3(0, 3, 0),
    dropped: col3(0, 0, 1),
    meanConfidence: col3(0.71, NaN, 0.5),
    confP10: col3(0.4, NaN, 0.45),
    confP90: col3(0.9, NaN, 0.55),
    mean: perStage((i) => col3(i + 0.5, i + 1.5, NaN)),
    p50: perStage((i) => col3(i + 1, i + 2, NaN)),
    p95: perStage((i) => col3(i * 10 + 5, i * 10 + 6, NaN)),
    image: { br: col3(0.5, 0.52, NaN), co: col3(0.2, 0.21, 0.2), sa: col3(0.3, 0.3, 0.3), sh: col3(12, 11, 10), sc: col3(NaN, 0.1, 0.2) },
    heapMB: col3(80.5, NaN, 82),
    longTasks: col3(0, 1, 0),
    uptime: col3(1, 1, 0.5),
    classCounts: [{ 0: 40, 2: 3 }, {}, { 7: 2, 0: 1 }],
  };
  const totals: MetricsTotals = { frames: 183, valid: 177, malformed: 3, dropped: 1, errors: { 'wrong-shape': 3 }, successRate: NaN, meanConfidence: 0.7, classCounts: { 0: 41, 2: 3, 7: 2 }, first: T0, last: T0 + 150_000 };

  it('metricsCsv: one row per bucket, a column per stage quantile, image statistic and class; NaN empty', () => {
    const rows = parseCsv(metricsCsv(series, totals, ['person', 'bicycle', 'car, red']));
    const header = rows[0]!;
    expect(header.slice(0, 8)).toEqual(['time', 'frames', 'success_rate', 'malformed', 'dropped', 'mean_confidence', 'conf_p10', 'conf_p90']);
    for (const s of STAGE_KEYS) expect(header).toEqual(expect.arrayContaining([`${s}_mean_ms`, `${s}_p50_ms`, `${s}_p95_ms`]));
    expect(header).toEqual(expect.arrayContaining(['image_brightness', 'image_contrast', 'image_saturation', 'image_sharpness', 'image_scene_distance', 'heap_mb', 'long_tasks', 'uptime']));
    expect(header.slice(-3)).toEqual(['class_person', 'class_car, red', 'class_7']);
    expect(new Set(header).size).toBe(header.length);
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r).toHaveLength(header.length);
    const at = (row: number, name: string) => rows[row]![header.indexOf(name)];
    expect(at(1, 'time')).toBe(new Date(series.t[0]!).toISOString());
    expect(at(1, 'frames')).toBe('120');
    expect(at(3, 'success_rate')).toBe('');
    expect(at(2, 'mean_confidence')).toBe('');
    expect(at(1, 'inference_p50_ms')).toBe('4');
    expect(at(2, 'total_p95_ms')).toBe('56');
    expect(at(3, 'total_p95_ms')).toBe('');
    expect(at(1, 'image_scene_distance')).toBe('');
    expect(at(3, 'heap_mb')).toBe('82');
    expect(at(2, 'heap_mb')).toBe('');
    expect(at(1, 'class_person')).toBe('40');
    expect(at(2, 'class_person')).toBe('0');
    expect(at(3, 'class_7')).toBe('2');
    expect(parseCsv(metricsCsv(series, totals))[0]!.slice(-3)).toEqual(['class_0', 'class_2', 'class_7']);
    // two classes with one label stay two columns
    expect(parseCsv(metricsCsv(series, totals, ['x', 'y', 'x']))[0]!.slice(-3)).toEqual(['class_x', 'class_x_2', 'class_7']);
  });

  it('metricsJson: range, resolution, totals and series with null for NaN', () => {
    const text = metricsJson(series, totals, { from: T0, to: T0 + 3 * 60_000 }, ['person']);
    expect(text).not.toMatch(/NaN|Infinity/);
    const j = JSON.parse(text);
    expect(j.range).toEqual({ from: '2025-05-06T12:30:15.250Z', to: '2025-05-06T12:33:15.250Z' });
    expect(j.resolution).toBe('1m');
    expect(j.labels).toEqual(['person']);
    expect(j.totals).toEqual({ ...totals, successRate: null, first: '2025-05-06T12:30:15.250Z', last: '2025-05-06T12:32:45.250Z' });
    expect(j.series).toHaveLength(3);
    expect(j.series[0]).toMatchObject({ time: new Date(series.t[0]!).toISOString(), frames: 120, successRate: 1, meanConfidence: 0.71, heapMB: 80.5, classCounts: { 0: 40, 2: 3 } });
    expect(j.series[0].p50.inference).toBe(4);
    expect(j.series[1]).toMatchObject({ meanConfidence: null, heapMB: null, confP10: null, classCounts: {} });
    expect(j.series[2].p95.total).toBeNull();
    expect(j.series[2].image).toEqual({ br: null, co: 0.2, sa: 0.3, sh: 10, sc: 0.2 });
    const empty = JSON.parse(metricsJson({ ...series, t: [], frames: [], successRate: [], meanConfidence: [], classCounts: [] }, { ...totals, first: Infinity, last: -Infinity }, { from: T0, to: T0 }));
    expect(empty.series).toEqual([]);
    expect(empty.totals).toMatchObject({ first: null, last: null });
  });
});

// ---------- ZIP ----------

const fakeJpeg = (id: string) => new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new TextEncoder().encode(id), 0xff, 0xd9]);

describe('buildLabellingZip', () => {
  it('lays out images, YOLO labels, COCO, Label Studio, the manifest; all agree; a missing image is left out everywhere', async () => {
    const gone = FRAMES[1]!.id;
    const progress: [number, number][] = [];
    const fetched: string[] = [];
    let inFlight = 0;
    const out = await buildLabellingZip({
      frames: FRAMES,
      labels: LABELS,
      image: async (id) => {
        expect(++inFlight).toBeLessThanOrEqual(8); // read a few ahead, never all at once
        fetched.push(id);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return id === gone ? undefined : id === FRAMES[2]!.id ? new Blob([fakeJpeg(id)], { type: 'image/jpeg' }) : fakeJpeg(id);
      },
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(fetched).toEqual(FRAMES.map((f) => f.id));
    // progress at most every 100 ms, always ending with (total, total), never going back
    expect(progress.at(-1)).toEqual([3, 3]);
    expect(progress.every(([d, t], i) => t === 3 && d >= 1 && d <= 3 && (i === 0 || d > progress[i - 1]![0]))).toBe(true);
    expect(out.images).toBe(2);
    expect(out.missing).toEqual([gone]);
    expect(out.blob.type).toBe('application/zip');

    const files = unzipSync(new Uint8Array(await out.blob.arrayBuffer()));
    const kept = FRAMES.filter((f) => f.id !== gone);
    const ids = kept.map((f) => f.id).sort();
    expect(Object.keys(files).sort()).toEqual(
      [...kept.map((f) => `images/${f.id}.jpg`), ...kept.map((f) => `labels/${f.id}.txt`), 'data.yaml', 'annotations.coco.json', 'predictions.labelstudio.json', 'labelstudio-config.xml', 'manifest.csv'].sort(),
    );
    for (const f of kept) {
      expect(files[`images/${f.id}.jpg`]).toEqual(fakeJpeg(f.id));
      expect(strFromU8(files[`labels/${f.id}.txt`]!)).toBe(yoloLabels(f));
    }
    const imageIds = (names: string[]) => names.map((n) => /^(?:images\/)?(.+)\.jpg$/.exec(n)![1]!).sort();
    const inZip = imageIds(Object.keys(files).filter((n) => n.startsWith('images/')));
    expect(inZip).toEqual(ids);

    const coco = JSON.parse(strFromU8(files['annotations.coco.json']!)) as ReturnType<typeof cocoDataset>;
    expect(imageIds(coco.images.map((i) => i.file_name))).toEqual(ids);
    expect(coco.annotations.every((a) => coco.images.some((i) => i.id === a.image_id))).toBe(true);
    expect(coco.categories.map((c) => c.name)).toEqual(labelsFor(kept, LABELS));

    const ls = JSON.parse(strFromU8(files['predictions.labelstudio.json']!)) as ReturnType<typeof labelStudioTasks>;
    expect(imageIds(ls.map((t) => t.data.image))).toEqual(ids);
    expect(ls.map((t) => t.data.inference_id).sort()).toEqual(ids);

    const manifest = parseCsv(strFromU8(files['manifest.csv']!));
    expect(manifest.slice(1).map((r) => r[0]).sort()).toEqual(ids);

    const names = yamlNames(strFromU8(files['data.yaml']!));
    expect(names).toEqual(labelsFor(kept, LABELS));
    expect(strFromU8(files['data.yaml']!)).toContain(`nc: ${names.length}\n`);
    // every YOLO class id has a name, every LS label is in the config
    const yoloClasses = kept.flatMap((f) => yoloLabels(f).split('\n').filter(Boolean).map((l) => Number(l.split(' ')[0])));
    for (const c of yoloClasses) expect(c).toBeLessThan(names.length);
    const xml = strFromU8(files['labelstudio-config.xml']!);
    const configLabels = [...xml.matchAll(/<Label value="([^"]*)"\/>/g)].map((m) => xmlUnescape(m[1]!));
    for (const t of ls) for (const r of t.predictions[0]!.result) expect(configLabels).toContain(r.value.rectanglelabels[0]);
  });

  it("writes people's verdicts: verdicts.json with the estimates, and each frame's verdict in the manifest and Label Studio data", async () => {
    const mv = FRAMES[0]!.mv.slice(0, 12);
    const other = '0196a1b2-0001-7000-8000-0000000000ff'; // a frame judged in the log, not flagged: in verdicts.json, without an image
    const verdicts = [
      { id: FRAMES[0]!.id, verdict: 'right' as const, mv, camera: 'cam-1', t: T0 + 1000 },
      { id: FRAMES[1]!.id, verdict: 'wrong' as const, mv, camera: 'cam-1', t: T0 + 2000 },
      { id: other, verdict: 'missing' as const, mv, camera: 'cam-1', location: 'hall', t: T0 + 3000 },
      { id: FRAMES[2]!.id, verdict: null, mv, camera: 'cam-1', t: T0 + 4000 }, // cleared: left out
    ];
    const { blob } = await buildLabellingZip({ frames: FRAMES, labels: LABELS, image: async (id) => fakeJpeg(id), verdicts });
    const files = unzipSync(new Uint8Array(await blob.arrayBuffer()));
    const vf = JSON.parse(strFromU8(files['verdicts.json']!));
    expect(vf.verdicts).toEqual([
      { inference_id: FRAMES[0]!.id, verdict: 'right', model_version: mv, camera_id: 'cam-1', time: new Date(T0 + 1000).toISOString(), image: `images/${FRAMES[0]!.id}.jpg` },
      { inference_id: FRAMES[1]!.id, verdict: 'wrong', model_version: mv, camera_id: 'cam-1', time: new Date(T0 + 2000).toISOString(), image: `images/${FRAMES[1]!.id}.jpg` },
      { inference_id: other, verdict: 'missing', model_version: mv, camera_id: 'cam-1', location: 'hall', time: new Date(T0 + 3000).toISOString() },
    ]);
    expect(vf.estimates).toHaveLength(1);
    expect(vf.estimates[0]).toMatchObject({ mv, camera: 'cam-1', right: 1, wrong: 1, missing: 1, n: 3, precision: { value: 0.5, n: 2 }, missingRate: { n: 3 } });
    expect(vf.estimates[0].precision.low).toBeCloseTo(0.0945, 3); // Wilson 95 % of 1 in 2
    expect(vf.estimates[0].precision.high).toBeCloseTo(0.9055, 3);
    const manifest = parseCsv(strFromU8(files['manifest.csv']!));
    const col = manifest[0]!.indexOf('verdict');
    expect(Object.fromEntries(manifest.slice(1).map((r) => [r[0], r[col]]))).toEqual({ [FRAMES[0]!.id]: 'right', [FRAMES[1]!.id]: 'wrong', [FRAMES[2]!.id]: '' });
    const ls = JSON.parse(strFromU8(files['predictions.labelstudio.json']!)) as ReturnType<typeof labelStudioTasks>;
    expect(ls.map((t) => t.data.verdict)).toEqual(['right', 'wrong', undefined]);
    // without verdicts given, no verdicts.json
    const plain = unzipSync(new Uint8Array(await (await buildLabellingZip({ frames: FRAMES, labels: LABELS, image: async (id) => fakeJpeg(id) })).blob.arrayBuffer()));
    expect(plain['verdicts.json']).toBeUndefined();
  });

  it('stores JPEGs uncompressed, deflates text, and dates each image by its frame', async () => {
    const { blob } = await buildLabellingZip({ frames: FRAMES.slice(0, 1), labels: LABELS, image: async (id) => fakeJpeg(id) });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const view = new DataView(bytes.buffer);
    const entries = new Map<string, { method: number; time: number; date: number }>();
    // walk the central directory
    const eocd = bytes.length - 22;
    expect(view.getUint32(eocd, true)).toBe(0x06054b50);
    let p = view.getUint32(eocd + 16, true);
    for (let n = view.getUint16(eocd + 10, true); n > 0; n--) {
      expect(view.getUint32(p, true)).toBe(0x02014b50);
      const nameLen = view.getUint16(p + 28, true), extraLen = view.getUint16(p + 30, true), commentLen = view.getUint16(p + 32, true);
      const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
      entries.set(name, { method: view.getUint16(p + 10, true), time: view.getUint16(p + 12, true), date: view.getUint16(p + 14, true) });
      p += 46 + nameLen + extraLen + commentLen;
    }
    const img = entries.get(`images/${FRAMES[0]!.id}.jpg`)!;
    expect(img.method).toBe(0);
    expect(entries.get('manifest.csv')!.method).toBe(8);
    expect(entries.get(`labels/${FRAMES[0]!.id}.txt`)!.method).toBe(8);
    // DOS date/time of the frame (local time, 2-s resolution)
    const d = new Date(FRAMES[0]!.t);
    expect(img.date).toBe(((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate());
    expect(img.time).toBe((d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1));
  });

  it('stops with an AbortError when the signal aborts, and fetches nothing more', async () => {
    const ac = new AbortController();
    const fetched: string[] = [];
    const many = Array.from({ length: 40 }, (_, i) => ({ ...FRAMES[i % FRAMES.length]!, id: `${FRAMES[i % FRAMES.length]!.id.slice(0, -4)}${String(i).padStart(4, '0')}` }));
    const run = buildLabellingZip({
      frames: many,
      labels: LABELS,
      signal: ac.signal,
      image: async (id) => {
        fetched.push(id);
        if (fetched.length === 2) ac.abort();
        return fakeJpeg(id);
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // the reads already under way when it aborted (a few ahead), and nothing after
    expect(fetched.length).toBeGreaterThanOrEqual(2);
    expect(fetched.length).toBeLessThanOrEqual(2 + 8);
    expect(fetched.length).toBeLessThan(many.length);
    const pre = new AbortController();
    pre.abort();
    await expect(buildLabellingZip({ frames: FRAMES, labels: LABELS, signal: pre.signal, image: async () => undefined })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('passes on an image read failure, and exports a frame listed twice once', async () => {
    await expect(buildLabellingZip({ frames: FRAMES, labels: LABELS, image: async () => { throw new Error('disk gone'); } })).rejects.toThrow('disk gone');
    const twice = await buildLabellingZip({ frames: [FRAMES[0]!, FRAMES[0]!], labels: LABELS, image: async (id) => fakeJpeg(id) });
    const files = unzipSync(new Uint8Array(await twice.blob.arrayBuffer()));
    expect(twice.images).toBe(1);
    expect(Object.keys(files).filter((n) => n.startsWith('images/'))).toHaveLength(1);
    expect(JSON.parse(strFromU8(files['annotations.coco.json']!)).images).toHaveLength(1);
  });

  it('keeps a hostile id from naming a path outside the archive folders', async () => {
    const f = frame('../../etc/passwd', T0, [det(0, 0.9, [1, 1, 10, 10])], {});
    const files = unzipSync(new Uint8Array(await (await buildLabellingZip({ frames: [f], labels: LABELS, image: async () => fakeJpeg('x') })).blob.arrayBuffer()));
    for (const n of Object.keys(files)) expect(n.split('/').every((seg) => seg !== '..' && seg !== '.' && seg !== '')).toBe(true);
    expect(Object.keys(files).filter((n) => n.split('/').length > 2)).toEqual([]);
    expect(files['images/.._.._etc_passwd.jpg']).toBeDefined();
    const coco = JSON.parse(strFromU8(files['annotations.coco.json']!));
    expect(coco.images[0].file_name).toBe('.._.._etc_passwd.jpg');
  });
});
