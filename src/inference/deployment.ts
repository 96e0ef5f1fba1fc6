/**
 * A deployment: the model file and what decides how it is fed and read — its manifest's input (size, layout,
 * normalisation, resize), outputs, adapter, decoding and labels — and the score threshold, together. Its id
 * (12 hex) tells two deployments of one ONNX file apart (a manifest scaling pixels to 0–1 where the graph
 * wants 0–255 is another deployment of the same file); the health engine compares a new deployment with the
 * previous one's baseline before it learns its own.
 */
import type { ModelManifest } from './manifest.ts';

/** JSON with object keys sorted, so equal contents give equal text. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') return `{${Object.keys(x).sort().filter((k) => (x as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(x);
}

/** 32-bit FNV-1a of a string's UTF-16 code units, from `seed`. */
function fnv(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** The deployment id of model file `version` (its sha256) run by `manifest` at score `threshold`: 12 hex. */
export function deploymentId(version: string, manifest: Pick<ModelManifest, 'input' | 'outputs' | 'adapter' | 'decode' | 'labels'>, threshold: number): string {
  const text = canonical({ version, input: manifest.input, outputs: manifest.outputs, adapter: manifest.adapter, decode: manifest.decode, labels: manifest.labels, threshold });
  return (fnv(text, 0x811c9dc5).toString(16).padStart(8, '0') + fnv(text, 0x050c5d1f).toString(16).padStart(8, '0')).slice(0, 12);
}
