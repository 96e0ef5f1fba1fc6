/** Hex of each byte, made once. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes drawn 4 KB at a time (one getRandomValues call per ~400 ids: ids are made on hot paths). */
const POOL = new Uint8Array(4096);
let at = POOL.length;

/** A UUIDv7: 48-bit Unix-ms timestamp then randomness, so ids sort by creation time. */
export function uuidv7(now = Date.now()): string {
  if (at + 10 > POOL.length) {
    crypto.getRandomValues(POOL);
    at = 0;
  }
  const r = POOL;
  const i = at;
  at += 10;
  const t = Math.max(0, Math.floor(now));
  const hi = Math.floor(t / 0x1000000), lo = t % 0x1000000; // 24 + 24 bits
  const ts =
    HEX[(hi >>> 16) & 255]! + HEX[(hi >>> 8) & 255]! + HEX[hi & 255]! + HEX[(lo >>> 16) & 255]! + '-' + HEX[(lo >>> 8) & 255]! + HEX[lo & 255]!;
  return (
    ts + '-' +
    HEX[(r[i]! & 0x0f) | 0x70]! + HEX[r[i + 1]!]! + '-' +
    HEX[(r[i + 2]! & 0x3f) | 0x80]! + HEX[r[i + 3]!]! + '-' +
    HEX[r[i + 4]!]! + HEX[r[i + 5]!]! + HEX[r[i + 6]!]! + HEX[r[i + 7]!]! + HEX[r[i + 8]!]! + HEX[r[i + 9]!]!
  );
}

/** The smallest UUIDv7 string for a time: every id of a frame at or after `t` sorts at or above it. */
export function idFloor(t: number): string {
  const h = Math.max(0, Math.floor(t)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-`;
}

/** The millisecond time a UUIDv7 id was made at (its first 48 bits). */
export function idTime(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
