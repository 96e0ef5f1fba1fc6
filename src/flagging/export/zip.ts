/** The labelling ZIP: the flagged frames' JPEGs with COCO, YOLO and Label Studio annotations and a CSV manifest, built as a stream. */
import { strToU8, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import type { FlaggedFrame, Labels } from '../types.ts';
import { cocoDataset, fileStem, labelsFor } from './coco.ts';
import { manifestCsv } from './csv.ts';
import { labelStudioConfig, labelStudioTasks } from './labelstudio.ts';
import { yoloDataYaml, yoloLabels } from './yolo.ts';
import type { Verdict } from '../verdicts.ts';
import { verdictsFile } from './verdicts-json.ts';

export interface LabellingZipOptions {
  frames: readonly FlaggedFrame[];
  labels: Labels;
  /** a frame's JPEG, or undefined when it is gone */
  image: (id: string) => Promise<Blob | Uint8Array | undefined>;
  /** after each image: frames done, frames in all */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** people's verdicts (every one kept): verdicts.json, and each frame's in the manifest and Label Studio tasks */
  verdicts?: readonly Verdict[];
}

/** ZIP (DOS) times span 1980–2099; keep an entry's time inside. */
const DOS_MIN = Date.UTC(1980, 0, 2), DOS_MAX = Date.UTC(2099, 11, 30);
const zipTime = (t: number) => (Number.isFinite(t) ? Math.min(Math.max(t, DOS_MIN), DOS_MAX) : Date.now());

/** output gathered into buffers of this size before it becomes a Blob part */
const OUT_BUFFER = 4 * 1024 * 1024;
/** images read ahead of the one being packed */
const READ_AHEAD = 8;

/** fflate's classic ZIP counts entries in 16 bits. */
const MAX_ENTRIES = 65_535;

const abortError = () => Object.assign(new Error('The export was aborted'), { name: 'AbortError' });

/**
 * Builds the labelling ZIP one image at a time (images stored, text deflated; output kept as Blob parts):
 * images/<id>.jpg, labels/<id>.txt, data.yaml, annotations.coco.json, predictions.labelstudio.json,
 * labelstudio-config.xml, manifest.csv, and (given verdicts) verdicts.json. Frames whose image is missing are left out of every file and listed.
 */
export async function buildLabellingZip(opts: LabellingZipOptions): Promise<{ blob: Blob; images: number; missing: string[] }> {
  const { labels, signal, onProgress } = opts;
  // one entry per file name: a repeated id (or ids that map to one file name) is exported once
  const stems = new Set<string>();
  const frames = opts.frames.filter((f) => !stems.has(fileStem(f.id)) && stems.add(fileStem(f.id)));
  if (frames.length * 2 + 5 > MAX_ENTRIES) throw new RangeError(`too many frames for one ZIP (${frames.length}); export at most ${(MAX_ENTRIES - 5) >> 1}`);

  // output: chunks gathered into a few-MB buffer, then handed to a Blob part (out of the JS heap: the
  // browser keeps Blob bytes itself), so the heap holds at most one buffer of output at a time
  const parts: Blob[] = [];
  let buffer = new Uint8Array(OUT_BUFFER);
  let used = 0;
  const spill = () => {
    if (!used) return;
    parts.push(new Blob([buffer.subarray(0, used)]));
    buffer = new Uint8Array(OUT_BUFFER);
    used = 0;
  };
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else if (chunk.length > OUT_BUFFER / 4) {
      spill();
      parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
    } else {
      if (used + chunk.length > OUT_BUFFER) spill();
      buffer.set(chunk, used);
      used += chunk.length;
    }
  });
  const put = (file: ZipPassThrough | ZipDeflate, bytes: Uint8Array, t: number) => {
    file.mtime = zipTime(t);
    zip.add(file);
    file.push(bytes, true);
    if (failure) throw failure;
  };
  const check = () => {
    if (signal?.aborted) throw abortError();
  };

  const present: FlaggedFrame[] = [];
  const missing: string[] = [];
  // images are read a few ahead of the one being packed (reads overlap packing; at most READ_AHEAD in memory)
  const read = (i: number) =>
    opts.image(frames[i]!.id).then(async (img) => (img === undefined || img instanceof Uint8Array ? img : new Uint8Array(await img.arrayBuffer())));
  const pending = new Map<number, Promise<Uint8Array | undefined>>();
  const ahead = (i: number) => {
    for (let j = i; j < Math.min(frames.length, i + READ_AHEAD); j++) if (!pending.has(j)) pending.set(j, read(j));
  };
  let said = 0;
  try {
    for (const [i, f] of frames.entries()) {
      check();
      ahead(i);
      const img = await pending.get(i)!;
      pending.delete(i);
      check();
      if (!img) missing.push(f.id);
      else {
        put(new ZipPassThrough(`images/${fileStem(f.id)}.jpg`), img, f.t);
        present.push(f);
      }
      // progress at most every 100 ms (and at the end): it crosses to the page
      if (onProgress && (i === frames.length - 1 || performance.now() - said >= 100)) {
        said = performance.now();
        onProgress(i + 1, frames.length);
      }
    }
    check();
    const now = Date.now();
    const text = (name: string, s: string, t = now) => put(new ZipDeflate(name, { level: 6 }), strToU8(s), t);
    const all = labelsFor(present, labels);
    for (const f of present) text(`labels/${fileStem(f.id)}.txt`, yoloLabels(f), f.t);
    text('data.yaml', yoloDataYaml(all));
    text('annotations.coco.json', JSON.stringify(cocoDataset(present, labels, now), null, 2));
    const byId: Record<string, string> = {};
    for (const v of opts.verdicts ?? []) if (v.verdict) byId[v.id] = v.verdict;
    text('predictions.labelstudio.json', JSON.stringify(labelStudioTasks(present, all, byId), null, 2));
    text('labelstudio-config.xml', labelStudioConfig(all));
    text('manifest.csv', manifestCsv(present, labels, byId));
    if (opts.verdicts) text('verdicts.json', JSON.stringify(verdictsFile(opts.verdicts, new Set(present.map((f) => f.id)), now), null, 2));
    zip.end();
    if (failure) throw failure;
    spill();
  } catch (e) {
    zip.terminate();
    await Promise.allSettled(pending.values());
    throw e;
  }
  return { blob: new Blob(parts, { type: 'application/zip' }), images: present.length, missing };
}
