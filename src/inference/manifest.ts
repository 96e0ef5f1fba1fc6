import * as v from 'valibot';
import { MonitorError } from './errors.ts';

const Triple = v.tuple([v.number(), v.number(), v.number()]);
const Dims = v.pipe(v.array(v.pipe(v.number(), v.integer())), v.minLength(1));

const ManifestSchema = v.object({
  schema: v.literal(1),
  id: v.pipe(v.string(), v.minLength(1)),
  name: v.string(),
  file: v.pipe(v.string(), v.minLength(1)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits')),
  bytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  input: v.object({
    name: v.pipe(v.string(), v.minLength(1)),
    shape: v.pipe(Dims, v.length(4)),
    dtype: v.literal('float32'),
    layout: v.picklist(['NHWC', 'NCHW']),
    channels: v.picklist(['RGB', 'BGR']),
    resize: v.picklist(['stretch', 'letterbox']),
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

/** One model manifest describes a model: its file, input, outputs, decoding, labels, provenance. */
export type ModelManifest = v.InferOutput<typeof ManifestSchema>;

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
  const channels = m.input.layout === 'NHWC' ? c : a;
  if (channels !== 3) throw new MonitorError('manifest-invalid', `${where}: input.shape: expected 3 channels in ${m.input.layout} [${m.input.shape}]`);
  void b;
  return m;
}

/** Input height and width from the manifest's shape and layout. */
export function inputSize(m: ModelManifest): { width: number; height: number } {
  const s = m.input.shape;
  return m.input.layout === 'NHWC' ? { height: s[1]!, width: s[2]! } : { height: s[2]!, width: s[3]! };
}

/** Short form of the model version for display. */
export const shortVersion = (sha256: string) => sha256.slice(0, 12);
