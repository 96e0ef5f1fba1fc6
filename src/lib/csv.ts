/** CSV (RFC 4180) cells and rows, safe to open in a spreadsheet, and ISO times: what every file this product writes uses. */
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** One CSV cell: empty for null, undefined and non-finite numbers; a formula-like string gets a leading "'"; quoted when needed. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !NUMERIC.test(s)) s = `'${s}`;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record: the cells joined by ',' and ended by CRLF. */
export const csvRow = (cells: unknown[]): string => cells.map(csvCell).join(',') + '\r\n';

/** ISO 8601 of an epoch-ms time; '' when it is not a valid date. */
export function isoTime(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}
