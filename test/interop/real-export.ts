/**
 * A real labelling ZIP for the interop checks: the default model (onnxruntime-node) on real photos and vtest
 * frames, decoded by the monitor's own adapter into frame pixels, exported by the monitor's own ZIP writer.
 * The frames: six vtest frames spread over the clip at the fake camera's 640×480, one of them darkened until
 * the model sees nothing (an empty frame, as the `empty-frame` rule keeps), and opencv-doc's messi5.jpg at
 * its own 548×342 (another size, so per-image normalisation is tested). JPEGs made by ffmpeg; the model sees
 * each JPEG stretched to its 416×416 input, as the monitor feeds it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { unzipSync } from 'fflate';
import { decodeOutputs, type OutputTensor } from '../../src/inference/adapters/index.ts';
import { feedShape, inputSize, parseManifest, type ModelManifest } from '../../src/inference/manifest.ts';
import { fitFrame } from '../../src/capture/preprocess.ts';
import { uuidv7 } from '../../src/lib/uuidv7.ts';
import { buildLabellingZip } from '../../src/flagging/export/zip.ts';
import type { FlaggedFrame } from '../../src/flagging/types.ts';
import { defaultManifest, defaultOnnx, fixturePath } from '../helpers/fixtures.ts';

const DATA = fixturePath('opencv-doc/usr/share/doc/opencv-doc/examples/data');
/** the monitor's default threshold (`<inference-monitor threshold>`) */
export const THRESHOLD = 0.3;
const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);

export interface RealExport {
  /** the ZIP's bytes, as a download holds them */
  zip: Uint8Array;
  /** its entries by name */
  files: Record<string, Uint8Array>;
  /** the frames exported, with the detections the model made (frame pixels) */
  frames: FlaggedFrame[];
  manifest: ModelManifest;
}

/** vtest frames (0-based frame numbers) spread over the clip */
const VTEST_FRAMES = [60, 200, 340, 480, 620];

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** Width and height of a JPEG, from its first SOF marker. */
export function jpegSize(b: Uint8Array): { width: number; height: number } {
  for (let i = 2; i + 9 < b.length; ) {
    if (b[i] !== 0xff) throw new Error(`not a JPEG marker at ${i}`);
    const marker = b[i + 1]!;
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}

/** Makes the export: frames → JPEGs → the default model → the monitor's adapter → the monitor's ZIP writer. */
export async function makeRealExport(): Promise<RealExport> {
  const manifest = parseManifest(JSON.parse(readFileSync(defaultManifest, 'utf8')));
  const { width: iw, height: ih } = inputSize(manifest);
  const tmp = mkdtempSync(join(tmpdir(), 'interop-'));
  const session = await ort.InferenceSession.create(defaultOnnx, { intraOpNumThreads: 2 });
  try {
    const frames: FlaggedFrame[] = [];
    const jpegs = new Map<string, Uint8Array>();
    // one pass over the clip for the vtest frames (640×480, as the fake camera delivers them), then the last
    // one covered as by a hand over the lens (blurred, darkened, flat: the fixture script's recipe), and the photo
    const select = VTEST_FRAMES.map((n) => `eq(n\\,${n})`).join('+');
    ffmpeg(['-i', join(DATA, 'vtest.avi'), '-vf', `select='${select}',scale=640:480`, '-vsync', 'vfr', '-q:v', '3', join(tmp, 'vtest-%d.jpg')]);
    const sources = VTEST_FRAMES.map((n, i) => ({ name: `vtest-${n}`, file: join(tmp, `vtest-${i + 1}.jpg`) }));
    const covered = join(tmp, 'covered.jpg');
    ffmpeg(['-i', sources.at(-1)!.file, '-vf', 'gblur=sigma=60,eq=brightness=-0.75:contrast=0.3', '-q:v', '3', covered]);
    sources.push({ name: `vtest-${VTEST_FRAMES.at(-1)}-covered`, file: covered }, { name: 'messi5', file: join(DATA, 'messi5.jpg') });
    for (const [k, { name, file }] of sources.entries()) {
      const jpeg = new Uint8Array(readFileSync(file));
      const { width, height } = jpegSize(jpeg);
      // the model's input: the JPEG stretched to 416×416, RGB, 0–255 (the manifest's normalisation is the identity)
      const rgb = ffmpeg(['-i', file, '-vf', `scale=${iw}:${ih}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-']);
      if (rgb.length !== iw * ih * 3) throw new Error(`${name}: ${rgb.length} bytes of RGB, expected ${iw * ih * 3}`);
      const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', Float32Array.from(rgb), feedShape(manifest)) });
      const outputs: Record<string, OutputTensor> = {};
      for (const [name, t] of Object.entries(out)) outputs[name] = { data: t.data as Float32Array, dims: t.dims };
      const fit = fitFrame(width, height, iw, ih, 'stretch');
      const decoded = decodeOutputs(manifest, outputs, { width, height, fit, inputWidth: iw, inputHeight: ih }, THRESHOLD);
      if (decoded.malformed) throw new Error(`${name}: malformed output: ${decoded.malformed}`);
      const t = T0 + k * 1500;
      const id = uuidv7(t);
      jpegs.set(id, jpeg);
      frames.push({
        id,
        t,
        flaggedAt: t + 40,
        src: 'interop',
        tags: { camera_id: name.startsWith('vtest') ? 'vtest' : 'photos', location: 'test bench', source: name },
        mv: manifest.sha256,
        backend: 'onnxruntime-node',
        width,
        height,
        detections: decoded.detections.map(({ classId, label, score, box }) => ({ classId, label, score, box: [...box] as [number, number, number, number] })),
        reasons: decoded.detections.length ? ['near-threshold'] : ['empty-frame'],
        bytes: jpeg.length,
        quality: 0.85,
      });
    }
    const { blob, missing } = await buildLabellingZip({ frames, labels: manifest.labels, image: async (id) => jpegs.get(id) });
    if (missing.length) throw new Error(`images missing from the export: ${missing.join(', ')}`);
    const zip = new Uint8Array(await blob.arrayBuffer());
    return { zip, files: unzipSync(zip), frames, manifest };
  } finally {
    await session.release();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Writes the ZIP's entries under dir (as a labeller unzips it); returns dir. */
export function unzipTo(files: Record<string, Uint8Array>, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(files)) {
    if (name.endsWith('/')) continue;
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  }
  return dir;
}

/** Entry names under a folder of the ZIP, sorted. */
export const entries = (files: Record<string, Uint8Array>, folder: string) =>
  Object.keys(files)
    .filter((k) => k.startsWith(`${folder}/`) && !k.endsWith('/'))
    .sort();
