/** The `condition` tag the hub adds to what it stores: a tag key with the condition its camera is recorded under now. */
import type { HealthEngine } from '../health/engine.ts';
import { tagsOf } from '../health/windows.ts';
import { withTag } from '../telemetry/record.ts';

/**
 * A function `(g, mv, saturation?) → g'`: `g` (a tag key) with a `condition` tag, the condition the health engine
 * says the camera (the key's camera_id) of model version `mv` is recorded under now (engine.ts conditionAt;
 * `saturation`, a frame's, where it has one), or `g` as it is where none is known (no engine, no stream, no
 * picture). The hub sets the tag: a `condition` that the page's metadata set is replaced. Keys are cached (a few
 * per camera; cleared past 1,000).
 */
export function conditionTagger(engine: () => Pick<HealthEngine, 'conditionAt'> | undefined) {
  const cache = new Map<string, string>();
  return (g: string, mv: string, saturation?: number): string => {
    const condition = engine()?.conditionAt(mv, tagsOf(g).camera, saturation);
    if (!condition) return g;
    const k = `${g}\u0000${condition}`;
    let out = cache.get(k);
    if (out === undefined) {
      if (cache.size >= 1000) cache.clear();
      cache.set(k, (out = withTag(g, 'condition', condition)));
    }
    return out;
  };
}
