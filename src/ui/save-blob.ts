/** Saves a Blob as a download named `name` (an object URL on a temporary link; revoked once the download has begun). */
export function saveBlob(blob: Blob, name: string, parent: Node = document.body) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  parent.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A file-name-safe local timestamp, e.g. 2026-12-01T21-40-07. */
export const fileTime = (t = Date.now()) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 19).replace(/:/g, '-');
