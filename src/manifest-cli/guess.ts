/**
 * A model manifest from what an ONNX file says (onnx-info.ts) plus what only its owner knows (options): the
 * input (layout from where the 3 channels are, size, dtype), the adapter from the outputs' shapes — YOLO v8/v11
 * `[1, 4+C, N]`, v5 `[1, N, 5+C]`, NMS in the graph `[1, N, 6]`; classification `[1, C]` / `[N, C]`;
 * CenterNet heatmap + sizes — the class count, and the labels (a file, Ultralytics' `names` metadata, or COCO's
 * 80). Asks for nothing it can read; what it cannot decide is a GuessError naming the option that settles it.
 * Pure: the CLI (cli.ts) reads the files and writes the result.
 */
import { COCO_LABELS } from '../inference/coco-labels.ts';
import { type ManifestInput, parseManifest } from '../inference/manifest.ts';
import { LabelsError, parseFlow } from './labels.ts';
import { type Dim, type OnnxInfo, shapeText, type TensorInfo } from './onnx-info.ts';

export type Adapter = 'yolo' | 'centernet' | 'classification';

/** What the owner tells (each a CLI flag of the same name). */
export interface GuessOptions {
  adapter?: Adapter;
  labels?: string[];
  /** where the labels came from, for notes */
  labelsFrom?: string;
  layout?: 'NCHW' | 'NHWC';
  /** 'imagenet', 'none' (0–255), 'unit' (0–1), or explicit */
  normalize?: 'imagenet' | 'none' | 'unit' | { scale: number; mean: [number, number, number]; std: [number, number, number] };
  channels?: 'RGB' | 'BGR';
  resize?: 'stretch' | 'letterbox';
  pad?: number | [number, number, number];
  /** for a model whose height/width are symbolic */
  size?: { width: number; height: number };
  /** which input, when the graph has several */
  input?: string;
  id?: string;
  name?: string;
}

/** Something only the model's owner can settle: the message names the option. */
export class GuessError extends Error {
  override name = 'GuessError';
}

export interface Guessed {
  manifest: ManifestInput;
  /** what was assumed rather than read, one line each (the CLI prints them) */
  notes: string[];
}

const IMAGENET = { scale: 255, mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };
const UNIT = { scale: 255, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
const RAW = { scale: 1, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };

const num = (d: Dim | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/** The input: layout, size and dtype. */
function inputOf(info: OnnxInfo, o: GuessOptions, notes: string[]) {
  let input: TensorInfo;
  if (o.input) {
    const found = info.inputs.find((i) => i.name === o.input);
    if (!found) throw new GuessError(`--input ${o.input}: the graph's inputs are ${info.inputs.map((i) => i.name).join(', ')}`);
    input = found;
  } else if (info.inputs.length > 1) throw new GuessError(`the graph has ${info.inputs.length} inputs (${info.inputs.map((i) => `${i.name} ${shapeText(i.shape)}`).join(', ')}): choose the image with --input NAME`);
  else input = info.inputs[0]!;
  if (input.dtype !== 'float32' && input.dtype !== 'uint8') throw new GuessError(`input ${input.name} is ${input.dtype}: only float32 and uint8 image inputs are supported`);
  const s = input.shape;
  if (!s || s.length !== 4) throw new GuessError(`input ${input.name} has shape ${shapeText(s)}: an image input has 4 dimensions ([batch, 3, H, W] or [batch, H, W, 3])`);
  let layout = o.layout;
  if (!layout) {
    const nchw = s[1] === 3, nhwc = s[3] === 3;
    if (nchw && !nhwc) layout = 'NCHW';
    else if (nhwc && !nchw) layout = 'NHWC';
    else throw new GuessError(`input ${input.name} ${shapeText(s)}: cannot tell where the 3 colour channels are: --layout NCHW or --layout NHWC`);
  } else if ((layout === 'NCHW' ? s[1] : s[3]) !== 3 && typeof (layout === 'NCHW' ? s[1] : s[3]) === 'number')
    throw new GuessError(`--layout ${layout}: input ${input.name} ${shapeText(s)} has no 3 channels there`);
  let [h, w] = layout === 'NCHW' ? [num(s[2]), num(s[3])] : [num(s[1]), num(s[2])];
  if (o.size) {
    if (h && w && (h !== o.size.height || w !== o.size.width)) throw new GuessError(`--size ${o.size.width}x${o.size.height}: the model's input is fixed at ${w}x${h}`);
    [h, w] = [o.size.height, o.size.width];
  }
  if (!h || !w) throw new GuessError(`input ${input.name} ${shapeText(s)} has a dynamic height or width: give the size to run at with --size WIDTHxHEIGHT (e.g. --size 640x640)`);
  const batch = s[0] ?? 1;
  if (typeof batch !== 'number' || batch !== 1) notes.push(`batch dimension ${batch ?? '?'} is dynamic: frames are fed one at a time (batch 1)`);
  const shape: (number | string)[] = layout === 'NCHW' ? [batch ?? -1, 3, h, w] : [batch ?? -1, h, w, 3];
  return { input, layout, h, w, shape: shape.map((d) => (d === null ? -1 : d)) };
}

/** Ultralytics writes `names` (a Python dict), `imgsz`, `task` and `stride` into its exports' metadata. */
function ultralyticsNames(info: OnnxInfo): string[] | undefined {
  const names = info.metadata.names;
  if (!names) return undefined;
  try {
    return parseFlow(names, 'metadata names');
  } catch (e) {
    if (e instanceof LabelsError) return undefined;
    throw e;
  }
}

interface AdapterGuess {
  adapter: Adapter;
  classes: number;
  decode: Record<string, unknown>;
  outputs: TensorInfo[];
}

/** The adapter and class count from the outputs' shapes (and the option, which must agree with them). */
function adapterOf(info: OnnxInfo, o: GuessOptions, labelCount: number | undefined, notes: string[]): AdapterGuess {
  const outs = info.outputs;
  const dims = (t: TensorInfo) => t.shape ?? [];
  const first = outs[0]!;
  const d = dims(first);
  const candidates: AdapterGuess[] = [];
  // YOLO with NMS in the graph: [1, N, 6] / [N, 6]
  if (outs.length === 1 && d.at(-1) === 6 && (d.length === 2 || (d.length === 3 && (d[0] === 1 || typeof d[0] !== 'number'))))
    candidates.push({ adapter: 'yolo', classes: labelCount ?? NaN, decode: { format: 'nms' }, outputs: [first] });
  if (outs.length === 1 && d.length === 3) {
    const [a, b] = [num(d[1]), num(d[2])];
    // v8/v11 [1, 4+C, N] (N the many anchors), v5 [1, N, 5+C]
    if (a && b && a < b && a > 4 && a !== 6) candidates.push({ adapter: 'yolo', classes: a - 4, decode: {}, outputs: [first] });
    if (a && b && a > b && b > 5 && b !== 6) candidates.push({ adapter: 'yolo', classes: b - 5, decode: {}, outputs: [first] });
    if (a && !b && a > 4 && a !== 6) candidates.push({ adapter: 'yolo', classes: a - 4, decode: {}, outputs: [first] }); // [1, 84, anchors]
  }
  if (outs.length === 1 && d.length === 2 && num(d[1]) && d.at(-1) !== 6) candidates.push({ adapter: 'classification', classes: num(d[1])!, decode: { topK: 5 }, outputs: [first] });
  if (outs.length === 2 && outs.every((t) => dims(t).length === 4)) {
    const c0 = num(dims(outs[0]!)[1]) ?? 0, c1 = num(dims(outs[1]!)[1]) ?? 0;
    const [heat, sizes] = c0 >= c1 ? [outs[0]!, outs[1]!] : [outs[1]!, outs[0]!];
    candidates.push({ adapter: 'centernet', classes: num(dims(heat)[1]) ?? NaN, decode: { heatmap: heat.name, sizes: sizes.name, stride: 4 }, outputs: [heat, sizes] });
  }
  let pick = o.adapter ? candidates.find((c) => c.adapter === o.adapter) : candidates[0];
  if (o.adapter && !pick) {
    const want = { yolo: '[1, 4+C, N], [1, N, 5+C] or [1, N, 6]', classification: '[1, C] or [N, C]', centernet: 'a [1, C, H, W] heatmap and a [1, 2, H, W] size output' }[o.adapter];
    throw new GuessError(`--adapter ${o.adapter}: its output must be ${want}; this model's: ${outs.map((t) => `${t.name} ${shapeText(t.shape)}`).join(', ')}`);
  }
  if (!pick)
    throw new GuessError(`cannot tell the adapter from the outputs ${outs.map((t) => `${t.name} ${shapeText(t.shape)}`).join(', ')}: --adapter yolo|centernet|classification (a new kind of output needs a new adapter: see docs/models.md)`);
  if (!o.adapter && candidates.length > 1 && candidates[1]!.adapter !== pick.adapter) notes.push(`outputs could also be read as ${candidates[1]!.adapter}: --adapter ${candidates[1]!.adapter} if so`);
  // YOLO v8 vs v5 by the labels when the shape alone cannot say (e.g. [1, 84, 85])
  if (pick.adapter === 'yolo' && labelCount !== undefined && !pick.decode.format && pick.classes !== labelCount) {
    const other = candidates.find((c) => c.adapter === 'yolo' && c.classes === labelCount);
    if (other) pick = other;
  }
  if (pick.adapter === 'yolo' && info.ops.includes('NonMaxSuppression') && !pick.decode.format) notes.push('the graph has a NonMaxSuppression op, yet its output is not [1, N, 6] rows: check the output format');
  return pick;
}

/** Guesses a manifest for `fileName` (its sha256 and size given) from its interface and the options. */
export function guessManifest(info: OnnxInfo, file: { name: string; sha256: string; bytes: number }, o: GuessOptions = {}): Guessed {
  const notes: string[] = [];
  const inp = inputOf(info, o, notes);
  let labels = o.labels;
  let labelsFrom = o.labelsFrom;
  if (!labels) {
    const names = ultralyticsNames(info);
    if (names) (labels = names), (labelsFrom = "the model's metadata (names)");
  }
  const a = adapterOf(info, o, labels?.length, notes);
  if (Number.isNaN(a.classes) && !labels) throw new GuessError(`the output ${shapeText(a.outputs[0]!.shape)} does not say how many classes there are: --labels labels.txt|data.yaml`);
  if (!labels) {
    if (a.classes === 80) {
      labels = [...COCO_LABELS];
      labelsFrom = 'COCO (80 classes; --labels to name them otherwise)';
    } else throw new GuessError(`the model has ${a.classes} classes and no names in its metadata: --labels labels.txt|data.yaml|labels.json`);
  }
  if (!Number.isNaN(a.classes) && labels.length !== a.classes)
    throw new GuessError(`${labelsFrom ?? 'the labels'} name${labels.length === 1 ? 's' : ''} ${labels.length} class${labels.length === 1 ? '' : 'es'}, the model's output ${shapeText(a.outputs[0]!.shape)} has ${a.classes}`);
  notes.push(`labels: ${labels.length} from ${labelsFrom ?? 'the labels file'}`);

  const ultralytics = /ultralytics/i.test(info.producer) || info.metadata.task !== undefined || info.metadata.names !== undefined;
  const dtype = inp.input.dtype as 'float32' | 'uint8';
  let normalization: { scale: number; mean: [number, number, number]; std: [number, number, number] };
  if (dtype === 'uint8') {
    if (o.normalize && o.normalize !== 'none') throw new GuessError(`--normalize: input ${inp.input.name} is uint8 and takes raw 0–255 pixels; leave --normalize out`);
    normalization = RAW;
  } else if (o.normalize) normalization = o.normalize === 'imagenet' ? IMAGENET : o.normalize === 'unit' ? UNIT : o.normalize === 'none' ? RAW : o.normalize;
  else if (a.adapter === 'classification' && !ultralytics) {
    normalization = IMAGENET;
    notes.push('normalization assumed ImageNet mean/std (most classifiers); --normalize unit|none|scale=…,mean=…,std=… otherwise');
  } else if (a.adapter === 'centernet') {
    normalization = RAW;
    notes.push('normalization assumed raw 0–255; --normalize to change');
  } else {
    normalization = UNIT;
    notes.push(`normalization assumed pixels / 255 (${a.adapter === 'yolo' ? 'as YOLO trains' : 'Ultralytics'}); --normalize to change`);
  }
  const resize = o.resize ?? (a.adapter === 'yolo' ? 'letterbox' : 'stretch');
  if (!o.resize) notes.push(`resize: ${resize}${resize === 'letterbox' ? ' (aspect kept, padded, as YOLO trains)' : ''}; --resize to change`);
  const id = (o.id ?? file.name.replace(/\.onnx$/i, '')).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  const manifest: ManifestInput = {
    schema: 1,
    id,
    name: o.name ?? (info.metadata.description || `${file.name}${info.producer ? ` (${info.producer}${info.producerVersion ? ` ${info.producerVersion}` : ''})` : ''}`),
    file: file.name,
    sha256: file.sha256,
    bytes: file.bytes,
    input: {
      name: inp.input.name,
      shape: inp.shape,
      dtype,
      layout: inp.layout,
      channels: o.channels ?? 'RGB',
      resize,
      ...(resize === 'letterbox' ? { pad: o.pad ?? 114 } : {}),
      normalization,
    },
    outputs: a.outputs.map((t) => ({ name: t.name, ...(t.shape ? { shape: t.shape.map((d) => (d === null ? -1 : d)) } : {}) })),
    adapter: a.adapter,
    decode: { ...a.decode, ...(a.adapter === 'yolo' ? { iou: 0.45, topK: 100 } : {}) },
    labels,
    source: { tool: 'inference-monitor-manifest', producer: info.producer || undefined, producerVersion: info.producerVersion || undefined, opsets: info.opsets, labels: labelsFrom },
  };
  parseManifest(JSON.parse(JSON.stringify(manifest)), file.name); // what we write must load
  return { manifest, notes };
}
