/** The model manifest (input size, layout, normalisation, labels, adapter, sha256): its schema and what follows from it. */
import * as v from 'valibot';
import { MonitorError } from '../lib/errors.ts';

const Triple = v.tuple([v.number(), v.number(), v.number()]);
const Byte = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255));
/** A dimension: a size, -1 (dynamic), or a symbolic name as exports write them (`batch`, `N`, `height`). */
const Dim = v.union([v.pipe(v.number(), v.integer(), v.minValue(-1)), v.pipe(v.string(), v.minLength(1), v.maxLength(64))]);
const Dims = v.pipe(v.array(Dim), v.minLength(1));

const ManifestSchema = v.object({
  schema: v.literal(1),
  id: v.pipe(v.string(), v.minLength(1)),
  name: v.string(),
  file: v.pipe(v.string(), v.minLength(1)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits')),
  bytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  input: v.object({
    name: v.pipe(v.string(), v.minLength(1)),
    /** [batch, 3, H, W] (NCHW) or [batch, H, W, 3] (NHWC); the batch may be symbolic or -1 (frames go one at a time) */
    shape: v.pipe(Dims, v.length(4)),
    /** uint8 inputs take raw 0–255 pixels (normalization must then be the identity) */
    dtype: v.optional(v.picklist(['float32', 'uint8']), 'float32'),
    layout: v.picklist(['NHWC', 'NCHW']),
    channels: v.picklist(['RGB', 'BGR']),
    resize: v.picklist(['stretch', 'letterbox']),
    /** letterbox padding colour, 0–255: one grey level or [r, g, b] (default 114, as YOLO trains with) */
    pad: v.optional(v.union([Byte, v.tuple([Byte, Byte, Byte])]), 114),
    normalization: v.object({ scale: v.pipe(v.number(), v.gtValue(0)), mean: Triple, std: Triple }),
  }),
  outputs: v.pipe(
    v.array(v.object({ name: v.pipe(v.string(), v.minLength(1)), shape: v.optional(Dims), layout: v.optional(v.picklist(['NCHW', 'NHWC', 'plain'])) })),
    v.minLength(1),
  ),
  adapter: v.picklist(['centernet', 'yolo', 'classification']),
  decode: v.optional(v.record(v.string(), v.unknown()), {}),
  labels: v.pipe(v.array(v.string()), v.minLength(1)),
  source: v.optional(v.record(v.string(), v.unknown()), {}),
  license: v.optional(v.object({ model: v.string(), notes: v.optional(v.string()) })),
  conversion: v.optional(v.record(v.string(), v.unknown())),
});

/** One model manifest describes a model: its file, input, outputs, decoding, labels, provenance (defaults filled in). */
export type ModelManifest = v.InferOutput<typeof ManifestSchema>;
/** A manifest as written (optional fields may be left out). */
export type ManifestInput = v.InferInput<typeof ManifestSchema>;

/** Validates parsed manifest JSON; a `manifest-invalid` error names the first bad field. */
export function parseManifest(json: unknown, where = 'manifest'): ModelManifest {
  const r = v.safeParse(ManifestSchema, json);
  if (!r.success) {
    const issue = r.issues[0]!;
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? '(root)';
    throw new MonitorError('manifest-invalid', `${where}: ${path}: ${issue.message}`);
  }
  const m = r.output;
  const [, a, b, c] = m.input.shape;
  const [channels, h, w] = m.input.layout === 'NHWC' ? [c, a, b] : [a, b, c];
  if (channels !== 3) throw new MonitorError('manifest-invalid', `${where}: input.shape: expected 3 channels in ${m.input.layout} [${m.input.shape}]`);
  if (!(typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0))
    throw new MonitorError('manifest-invalid', `${where}: input.shape: height and width must be sizes the model runs at, not [${m.input.shape}] (a model with a dynamic size: write the size to use)`);
  const n = m.input.normalization;
  if (m.input.dtype === 'uint8' && !(n.scale === 1 && n.mean.every((x) => x === 0) && n.std.every((x) => x === 1)))
    throw new MonitorError('manifest-invalid', `${where}: input.normalization: a uint8 input takes raw 0–255 pixels (scale 1, mean [0, 0, 0], std [1, 1, 1])`);
  return m;
}

/** Input height and width from the manifest's shape and layout. */
export function inputSize(m: ModelManifest): { width: number; height: number } {
  const s = m.input.shape as number[];
  return m.input.layout === 'NHWC' ? { height: s[1]!, width: s[2]! } : { height: s[2]!, width: s[3]! };
}

/** The shape of the tensor fed for one frame: the batch dimension (whatever the manifest says) is 1. */
export function feedShape(m: ModelManifest): number[] {
  return [1, ...(m.input.shape.slice(1) as number[])];
}

/** A manifest shape for comparing with a tensor's dims: symbolic and dynamic dimensions become -1 (anything). */
export const numericDims = (s: readonly (number | string)[]): number[] => s.map((d) => (typeof d === 'number' ? d : -1));

/** The letterbox padding as [r, g, b]. */
export const padRgb = (m: ModelManifest): [number, number, number] => (typeof m.input.pad === 'number' ? [m.input.pad, m.input.pad, m.input.pad] : m.input.pad);
