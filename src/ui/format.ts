/** Display formatting for the UI elements (health panel, flag gallery, monitor, fleet page): numbers, sizes, times. */
// Where two elements formatted alike but not identically, both are kept under their own names: each call site
// renders what it always did.

/** A number to `d` decimals (default 1); '–' for none (undefined, null, NaN, ±Infinity). */
export const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
/** A fraction as a percentage to one decimal ('98.5 %'); '–' for none. */
export const pct = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(1)} %`);
/** A number to 3 significant figures, whole from 100 up ('0.123', '12.3', '1234'); '–' if not finite. */
export const sig3 = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : '–');
/** Bytes as MB, or GB above 1e9 ('12.3 MB', '1.20 GB'); '–' for undefined. */
export const mb = (b?: number) => (b === undefined ? '–' : b > 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
/** Bytes as MB, or GB from 1e9 up (exactly 1e9 is '1.00 GB', where `mb` says '1000.0 MB'). */
export const fileSize = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);

// One formatter each, made once: toLocale*String builds a formatter per call (~0.1 ms), and the log
// renders a time per row every refresh.
const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dateTimeFormat = new Intl.DateTimeFormat([], { year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const shortDateTimeFormat = new Intl.DateTimeFormat([], { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** A local time of day, 24 h, to the second. */
export const time = (t: number) => timeFormat.format(t);
/** A local date (with the year) and time, 24 h, to the second. */
export const dateTime = (t: number) => dateTimeFormat.format(t);
/** A local date without the year, and time, 24 h, to the second. */
export const shortDateTime = (t: number) => shortDateTimeFormat.format(t);
/** A time as an `<input type="datetime-local">` value: local, to the minute (YYYY-MM-DDTHH:mm). */
export const toLocalInput = (t: number) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
/** How long ago, always in seconds ('75 s ago'); 'never' for undefined. */
export const secondsAgo = (t?: number) => (t === undefined ? 'never' : `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago`);
/** How long ago, in seconds under 90 s, minutes under 90 min, else hours ('40 s ago', '12 min ago', '3 h ago'). */
export const ago = (t: number) => {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};
