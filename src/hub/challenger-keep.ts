/**
 * A challenger's compared frames kept across reloads (inference/challenger.ts `PairedFrame`: run times, counts,
 * scores and agreements, no pictures): a comparison takes minutes of sampled frames to firm up, and a kiosk that
 * reloads, updates or restarts should go on from where it was, not start again. One bounded list per camera and
 * pair of versions (champion, challenger) in the store's settings (`meta`); a new pair starts its own.
 */
import { CHALLENGER_KEEP, type PairedFrame } from '../inference/challenger.ts';
import type { MonitorStore } from '../store/store.ts';

/** the settings key of a camera's comparison of two versions */
export const challengerKey = (camera: string, champion: string, challenger: string) => `challenger:${encodeURIComponent(camera)}|${champion}|${challenger}`;

const isSide = (x: unknown): boolean => {
  const s = x as PairedFrame['champion'] | undefined;
  return !!s && typeof s === 'object' && typeof s.ms === 'number' && !!s.counts && typeof s.counts === 'object' && Array.isArray(s.scores);
};
const isAgreement = (x: unknown): boolean => {
  const a = x as PairedFrame['agreement'] | undefined;
  return !!a && typeof a === 'object' && [a.tp, a.fp, a.fn].every((n) => typeof n === 'number') && !!a.byClass && typeof a.byClass === 'object';
};
/** A kept frame as the tally needs it (another version's shape, or a damaged value, is left out). */
export const isPairedFrame = (x: unknown): x is PairedFrame => {
  const f = x as PairedFrame | undefined;
  return (
    !!f && typeof f === 'object' && typeof f.t === 'number' && isSide(f.champion) && isSide(f.challenger) && isAgreement(f.agreement) &&
    (f.reference === undefined || (isAgreement(f.reference.champion) && isAgreement(f.reference.challenger)))
  );
};

/** Keeps the newest frames of a comparison (at most CHALLENGER_KEEP). */
export async function keepChallenger(store: Pick<MonitorStore, 'setMeta'>, key: string, frames: readonly PairedFrame[]): Promise<void> {
  await store.setMeta(key, frames.slice(-CHALLENGER_KEEP));
}

/** The frames kept for `key`, oldest first (none, or nothing readable: []). */
export async function keptChallenger(store: Pick<MonitorStore, 'getMeta'>, key: string): Promise<PairedFrame[]> {
  const kept = await store.getMeta<unknown>(key).catch(() => undefined);
  return Array.isArray(kept) ? kept.filter(isPairedFrame).slice(-CHALLENGER_KEEP) : [];
}
