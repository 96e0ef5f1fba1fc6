/** The storage cap on kept frames: at most this many frames and bytes (JPEG and thumbnail together). */
export const DEFAULT_FLAG_CAP: Readonly<{ maxFrames: number; maxBytes: number }> = Object.freeze({ maxFrames: 2000, maxBytes: 500_000_000 });

/**
 * Which kept frames (given oldest first) to evict, oldest first, so that with the incoming frame added the
 * store holds at most maxFrames and maxBytes; `fits: false` (and nothing evicted) when the incoming frame
 * cannot fit even alone, or when evicting every listed frame still would not make room.
 */
export function planEviction(
  oldestFirst: readonly { id: string; bytes: number }[],
  totals: { count: number; bytes: number },
  cap: { maxFrames: number; maxBytes: number },
  incoming: { bytes: number },
): { evict: string[]; fits: boolean } {
  if (incoming.bytes > cap.maxBytes || cap.maxFrames < 1) return { evict: [], fits: false };
  let count = totals.count + 1, bytes = totals.bytes + incoming.bytes;
  const evict: string[] = [];
  for (const f of oldestFirst) {
    if (count <= cap.maxFrames && bytes <= cap.maxBytes) break;
    evict.push(f.id);
    count--;
    bytes -= f.bytes;
  }
  return count <= cap.maxFrames && bytes <= cap.maxBytes ? { evict, fits: true } : { evict: [], fits: false };
}
