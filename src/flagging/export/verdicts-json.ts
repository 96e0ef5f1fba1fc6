/** The export's verdicts.json: people's verdicts (right, wrong, missing) and the estimates they give per model version and camera. */
import type { Verdict, VerdictEstimate } from '../verdicts.ts';
import { verdictEstimates } from '../verdicts.ts';
import { isoTime } from '../../lib/csv.ts';
import { fileStem } from './coco.ts';

export interface VerdictsFile {
  generatedAt: string;
  /** every verdict kept (cleared ones left out), oldest given first; `image` where the frame is in this ZIP */
  verdicts: { inference_id: string; verdict: NonNullable<Verdict['verdict']>; model_version: string; camera_id: string; location?: string; time: string; image?: string }[];
  /** per (model version, camera): counts, precision = right / (right + wrong) and missing rate = missing / n, each with its Wilson 95 % interval (null: no verdicts to rest on) */
  estimates: (Omit<VerdictEstimate, 'precision' | 'missingRate'> & { precision: Interval; missingRate: Interval })[];
}

interface Interval {
  value: number | null;
  low: number | null;
  high: number | null;
  /** how many verdicts it rests on */
  n: number;
}

const num = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);

/** verdicts.json's content for `verdicts` (all kept), with the frames of the ZIP (`inZip`: their ids). */
export function verdictsFile(verdicts: readonly Verdict[], inZip: ReadonlySet<string>, now = Date.now()): VerdictsFile {
  const given = verdicts.filter((v): v is Verdict & { verdict: NonNullable<Verdict['verdict']> } => !!v.verdict).sort((a, b) => a.t - b.t);
  return {
    generatedAt: isoTime(now),
    verdicts: given.map((v) => ({
      inference_id: v.id,
      verdict: v.verdict,
      model_version: v.mv,
      camera_id: v.camera,
      ...(v.location !== undefined ? { location: v.location } : {}),
      time: isoTime(v.t),
      ...(inZip.has(v.id) ? { image: `images/${fileStem(v.id)}.jpg` } : {}),
    })),
    estimates: verdictEstimates(given).map(({ precision: p, missingRate: m, ...c }) => ({
      ...c,
      precision: { value: num(p.p), low: num(p.lo), high: num(p.hi), n: p.n },
      missingRate: { value: num(m.p), low: num(m.lo), high: num(m.hi), n: m.n },
    })),
  };
}
