/**
 * A YOLO ONNX that torch exported — not tensors typed in — through the monitor's YOLO adapter.
 *
 * scripts/yolo-export.py (run with .cache/yolo-venv's python: `npm run yolo-venv` makes it) builds in torch the
 * YOLOv8 detection head's architecture and export-time output (DFL, anchors and strides 8/16/32 decoded in the
 * graph, sigmoid class scores: `output0` [1, 84, 8400] for a 640×640 input) and a YOLOv5-format head ([1, 25200,
 * 85], objectness), with seeded weights calibrated to fire a handful of times; exports both with
 * torch.onnx.export; letterboxes opencv-doc's messi5.jpg (548×342) and the same photo turned a quarter (342×548)
 * as Ultralytics does; and writes torch's detections after its NMS, mapped back to the photo's pixels as
 * Ultralytics' scale_boxes does. Not a trained Ultralytics model: none can be installed here (see the script).
 *
 * Here: the manifest tool (src/manifest-cli) writes each ONNX's manifest; onnxruntime-node runs the ONNX on the
 * very input tensor torch saw; the monitor's decodeOutputs (the manifest's adapter, options and letterbox fit
 * from fitFrame) turns its output into detections, which must be torch's: class, score within 1e-3, box within
 * 1 px. Only in `npm run interop` (torch is ~200 MB; not in `npm test` nor .ci/run); there it fails, not skips,
 * when the venv is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeOutputs, type Decoded } from '../../src/inference/adapters/index.ts';
import { COCO_LABELS } from '../../src/inference/coco-labels.ts';
import { feedShape, inputSize, parseManifest, type ModelManifest } from '../../src/inference/manifest.ts';
import { fitFrame } from '../../src/capture/preprocess.ts';
import { main as manifestCli } from '../../src/manifest-cli/cli.ts';
import { fixturePath, root } from '../helpers/fixtures.ts';
import { THRESHOLD } from './real-export.ts';

const PHOTO = fixturePath('opencv-doc/usr/share/doc/opencv-doc/examples/data/messi5.jpg');
const IOU = 0.45; // the manifest tool's default for YOLO, checked below
/** the venv's python (`npm run yolo-venv`), or YOLO_PYTHON */
export const yoloPython = () => process.env.YOLO_PYTHON ?? join(root, '.cache', 'yolo-venv', 'bin', 'python');

interface TorchDetection {
  classId: number;
  label: string;
  score: number;
  /** x1, y1, x2, y2 in the photo's pixels */
  box: [number, number, number, number];
  inputBox: [number, number, number, number];
}
interface TorchImage {
  name: string;
  width: number;
  height: number;
  letterbox: { gain: number; left: number; top: number; width: number; height: number };
  input: string;
  output: string;
  candidates: number;
  detections: TorchDetection[];
}
interface TorchModel {
  onnx: string;
  exporter: string;
  opset: number;
  output: number[];
  ops: string[];
  images: TorchImage[];
}
interface Report {
  torch: string;
  conf: number;
  iou: number;
  models: { v8: TorchModel; v5: TorchModel };
}

function runExport(out: string): Report {
  const python = yoloPython();
  const setup = 'npm run yolo-venv (a venv in .cache/yolo-venv with torch, onnx, numpy, Pillow)';
  if (!existsSync(python)) throw new Error(`${python} does not exist: ${setup}, or YOLO_PYTHON=/path/to/python with them`);
  const args = [join(root, 'scripts', 'yolo-export.py'), '--out', out, '--image', PHOTO, '--image', `${PHOTO}@rot90`, '--conf', String(THRESHOLD), '--iou', String(IOU), '--v5'];
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw new Error(`${python} could not run (${r.error.message}): ${setup}`);
  if (r.status !== 0) {
    const missing = /ModuleNotFoundError: No module named '([^']+)'/.exec(r.stderr)?.[1];
    throw new Error(missing ? `${python} lacks '${missing}': ${setup}\n${r.stderr}` : `yolo-export.py failed (${r.status}):\n${r.stderr}`);
  }
  return JSON.parse(r.stdout) as Report;
}

const f32 = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const xyxy = ([x, y, w, h]: readonly number[]) => [x!, y!, x! + w!, y! + h!];

describe('a YOLO ONNX exported by torch (YOLOv8 head format, and v5) through the monitor\'s YOLO adapter', () => {
  let report: Report;
  const manifests: Partial<Record<'v8' | 'v5', ModelManifest>> = {};
  const cliOut: Record<string, string> = {};
  /** per format and photo: onnxruntime-node's raw output and the adapter's detections */
  const runs: Record<string, { raw: Float32Array; decoded: Decoded; image: TorchImage }[]> = {};
  let session: ort.InferenceSession | undefined;

  beforeAll(async () => {
    const out = join(root, 'test-results', 'interop', 'yolo-export');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    report = runExport(out);
    for (const fmt of ['v8', 'v5'] as const) {
      const m = report.models[fmt];
      let text = '', err = '';
      const status = manifestCli([m.onnx], { out: (s) => (text += s), err: (s) => (err += s) });
      if (status !== 0) throw new Error(`manifest tool on ${m.onnx}: exit ${status}: ${err}`);
      cliOut[fmt] = text;
      const manifest = parseManifest(JSON.parse(readFileSync(m.onnx.replace(/\.onnx$/, '.json'), 'utf8')));
      manifests[fmt] = manifest;
      const { width: iw, height: ih } = inputSize(manifest);
      session = await ort.InferenceSession.create(m.onnx, { intraOpNumThreads: 2 });
      runs[fmt] = [];
      for (const image of m.images) {
        const res = await session.run({ [manifest.input.name]: new ort.Tensor('float32', f32(image.input), feedShape(manifest)) });
        const t = res[manifest.outputs[0]!.name]!;
        const raw = t.data as Float32Array;
        const fit = fitFrame(image.width, image.height, iw, ih, manifest.input.resize);
        const decoded = decodeOutputs(manifest, { [manifest.outputs[0]!.name]: { data: raw, dims: t.dims } }, { width: image.width, height: image.height, fit, inputWidth: iw, inputHeight: ih }, THRESHOLD);
        runs[fmt].push({ raw, decoded, image });
      }
      await session.release();
      session = undefined;
    }
  }, 300_000);

  it('torch exported the formats Ultralytics does: output0 [1, 84, 8400] (v8) and [1, 25200, 85] (v5), opset ≥ 12', () => {
    expect(report.models.v8).toMatchObject({ output: [1, 84, 8400] });
    expect(report.models.v5).toMatchObject({ output: [1, 25200, 85] });
    for (const m of Object.values(report.models)) {
      expect(m.opset).toBeGreaterThanOrEqual(12);
      expect(m.exporter).toMatch(/^torch\.onnx\.export/);
    }
    expect(report.models.v8.ops).toEqual(expect.arrayContaining(['Conv', 'Softmax', 'Sigmoid', 'Concat'])); // DFL's softmax in the graph
  });

  it('the manifest tool reads each export as YOLO: 80 COCO names from its metadata, letterbox 114, pixels / 255, NMS IoU 0.45', () => {
    for (const fmt of ['v8', 'v5'] as const) {
      const m = manifests[fmt]!;
      expect(cliOut[fmt]).toMatch(/yolo, 80 classes; input images \[1, 3, 640, 640\] NCHW float32 RGB, letterbox/);
      expect(m.adapter).toBe('yolo');
      expect(m.labels).toEqual([...COCO_LABELS]);
      expect(m.source).toMatchObject({ labels: "the model's metadata (names)" });
      expect(m.input).toMatchObject({ name: 'images', layout: 'NCHW', channels: 'RGB', resize: 'letterbox', pad: 114, normalization: { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] } });
      expect(m.decode).toMatchObject({ iou: IOU });
      expect(m.name).toMatch(/not a trained Ultralytics model/);
    }
  });

  it('the monitor\'s letterbox (fitFrame) puts each photo where Ultralytics\' LetterBox put torch\'s input', () => {
    for (const image of report.models.v8.images) {
      const fit = fitFrame(image.width, image.height, 640, 640, 'letterbox');
      const lb = image.letterbox;
      expect({ dx: fit.dx, dy: fit.dy, dw: fit.dw, dh: fit.dh }).toEqual({ dx: lb.left, dy: lb.top, dw: lb.width, dh: lb.height });
    }
    // one padded above and below, one left and right: both offsets are exercised
    expect(report.models.v8.images.map((i) => [i.letterbox.left, i.letterbox.top])).toEqual([[0, 120], [120, 0]]);
  });

  it('onnxruntime-node on the same input gives torch\'s raw output', () => {
    for (const fmt of ['v8', 'v5'] as const) {
      for (const { raw, image } of runs[fmt]!) {
        const expected = f32(report.models[fmt].images.find((i) => i.name === image.name)!.output);
        expect(raw.length).toBe(expected.length);
        let maxDiff = 0;
        for (let i = 0; i < raw.length; i++) maxDiff = Math.max(maxDiff, Math.abs(raw[i]! - expected[i]!));
        console.log(`${fmt} ${image.name}: onnxruntime vs torch raw output, max |Δ| ${maxDiff.toExponential(2)} (${raw.length} values)`);
        expect(maxDiff).toBeLessThan(1e-3); // box values are input pixels (up to 640), scores 0–1
      }
    }
  });

  for (const fmt of ['v8', 'v5'] as const) {
    it(`${fmt}: the adapter's detections are torch's — class, score within 1e-3, box within 1 px of the photo — on both photos`, () => {
      let n = 0, maxScore = 0, maxBox = 0;
      for (const { decoded, image } of runs[fmt]!) {
        expect(decoded.malformed).toBeUndefined();
        const want = image.detections;
        expect(want.length, image.name).toBeGreaterThanOrEqual(2);
        expect(decoded.detections.length, image.name).toBe(want.length);
        // paired by class and nearest box (several score 0.92 to within 1e-7: score order is no pairing)
        const left = [...decoded.detections];
        for (const [k, w] of want.entries()) {
          const far = (d: (typeof left)[number]) => (d.classId === w.classId ? Math.max(...xyxy(d.box).map((v, j) => Math.abs(v - w.box[j]!))) : Infinity);
          const i = left.reduce((best, d, j) => (far(d) < far(left[best]!) ? j : best), 0);
          const d = left.splice(i, 1)[0]!;
          expect(d.classId, `${image.name} #${k}: no ${w.label} left`).toBe(w.classId);
          expect(d.label).toBe(w.label);
          expect(Math.abs(d.score - w.score), `${image.name} #${k} score`).toBeLessThanOrEqual(1e-3);
          const b = xyxy(d.box);
          for (let j = 0; j < 4; j++) expect(Math.abs(b[j]! - w.box[j]!), `${image.name} #${k} ${w.label} box ${j}: ${b} vs ${w.box}`).toBeLessThanOrEqual(1);
          maxScore = Math.max(maxScore, Math.abs(d.score - w.score));
          maxBox = Math.max(maxBox, ...b.map((v, j) => Math.abs(v - w.box[j]!)));
          n++;
        }
      }
      console.log(`${fmt}: ${n} detections match torch's; max |Δscore| ${maxScore.toExponential(2)}, max |Δbox| ${maxBox.toFixed(3)} px`);
      expect(n).toBeGreaterThanOrEqual(5);
    });
  }

  it('the comparison tells a misread layout: stretched instead of letterboxed, or the v8 output read transposed, does not match', () => {
    const manifest = manifests.v8!;
    for (const { raw, image } of runs.v8!) {
      // back-mapped as if stretched: boxes off by far more than 1 px
      const stretched = decodeOutputs(manifest, { output0: { data: raw, dims: [1, 84, 8400] } }, { width: image.width, height: image.height, fit: fitFrame(image.width, image.height, 640, 640, 'stretch'), inputWidth: 640, inputHeight: 640 }, THRESHOLD);
      const off = stretched.detections.map((d, k) => Math.max(...xyxy(d.box).map((v, j) => Math.abs(v - image.detections[k]!.box[j]!))));
      expect(Math.max(...off), image.name).toBeGreaterThan(10);
      // the same values read as [1, 8400, 84] (v5's layout would need 85): refused, not silently decoded
      const fit = fitFrame(image.width, image.height, 640, 640, 'letterbox');
      const transposed = decodeOutputs({ ...manifest, outputs: [{ name: 'output0' }] }, { output0: { data: raw, dims: [1, 8400, 84] } }, { width: image.width, height: image.height, fit, inputWidth: 640, inputHeight: 640 }, THRESHOLD);
      expect(transposed.malformed).toMatch(/matches neither/);
    }
  });
});
