/**
 * Class labels from the files teams have beside their models: `labels.txt` (one per line), a YOLO
 * `data.yaml` (`names:` as a list, a block list, or an `index: name` map), a JSON array or `{index: name}`
 * object, and the `names` metadata Ultralytics writes into its ONNX exports (a Python dict literal). Pure.
 */

/** A labels file that cannot be read, with the line or entry at fault. */
export class LabelsError extends Error {
  override name = 'LabelsError';
}

/** From an index → name map: dense from 0, else an error naming the gap. */
function fromMap(map: Map<number, string>, where: string): string[] {
  const n = map.size;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = map.get(i);
    if (name === undefined) throw new LabelsError(`${where}: class ${i} has no name (indices must run 0…${n - 1})`);
    out.push(name);
  }
  return out;
}

/** Unquotes a YAML / Python scalar: 'a', "a", or bare. */
function scalar(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && ((t[0] === "'" && t.endsWith("'")) || (t[0] === '"' && t.endsWith('"')))) {
    const body = t.slice(1, -1);
    return t[0] === "'" ? body.replace(/''/g, "'") : body.replace(/\\(["\\])/g, '$1');
  }
  return t;
}

/** Splits a flow list or map body on commas outside quotes. */
function splitFlow(body: string): string[] {
  const parts: string[] = [];
  let cur = '', quote = '';
  for (const ch of body) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur += ch;
    } else if (ch === ',') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** `{0: 'person', 1: 'bicycle'}` or `['a', 'b']` (YAML flow style, or a Python literal). */
export function parseFlow(text: string, where: string): string[] {
  const t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) return splitFlow(t.slice(1, -1)).map(scalar);
  if (t.startsWith('{') && t.endsWith('}')) {
    const map = new Map<number, string>();
    for (const part of splitFlow(t.slice(1, -1))) {
      const m = /^\s*['"]?(\d+)['"]?\s*:\s*(.+)$/.exec(part);
      if (!m) throw new LabelsError(`${where}: expected 'index: name', got ${JSON.stringify(part.slice(0, 60))}`);
      map.set(Number(m[1]), scalar(m[2]!));
    }
    return fromMap(map, where);
  }
  throw new LabelsError(`${where}: expected a [list] or an {index: name} map`);
}

/** The `names` of a YOLO data.yaml. */
export function parseDataYaml(text: string, where = 'data.yaml'): string[] {
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => /^names\s*:/.test(l));
  if (at < 0) throw new LabelsError(`${where}: no top-level 'names:' key`);
  const rest = lines[at]!.replace(/^names\s*:/, '').replace(/\s+#.*$/, '').trim();
  if (rest) return parseFlow(rest, where);
  const list: string[] = [];
  const map = new Map<number, string>();
  for (let i = at + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim() || /^\s*#/.test(line)) continue;
    if (!/^\s/.test(line)) break; // the next top-level key
    const item = /^\s+-\s*(.*)$/.exec(line);
    const entry = /^\s+['"]?(\d+)['"]?\s*:\s*(.*)$/.exec(line);
    if (item) list.push(scalar(item[1]!.replace(/\s+#.*$/, '')));
    else if (entry) map.set(Number(entry[1]), scalar(entry[2]!.replace(/\s+#.*$/, '')));
    else throw new LabelsError(`${where}:${i + 1}: expected '- name' or 'index: name' under names:`);
  }
  if (list.length && map.size) throw new LabelsError(`${where}: names mixes a list and a map`);
  const names = list.length ? list : fromMap(map, where);
  if (!names.length) throw new LabelsError(`${where}: names is empty`);
  return names;
}

/** Labels from a file's text, by its name: .yaml/.yml (data.yaml), .json, else one label per line. */
export function parseLabels(text: string, fileName: string): string[] {
  let labels: string[];
  if (/\.ya?ml$/i.test(fileName)) labels = parseDataYaml(text, fileName);
  else if (/\.json$/i.test(fileName)) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new LabelsError(`${fileName}: not JSON: ${(e as Error).message}`);
    }
    if (Array.isArray(json) && json.every((x) => typeof x === 'string')) labels = json;
    else if (json && typeof json === 'object' && !Array.isArray(json)) {
      const map = new Map<number, string>();
      for (const [k, v] of Object.entries(json)) {
        if (!/^\d+$/.test(k) || typeof v !== 'string') throw new LabelsError(`${fileName}: expected {"0": "name", …}, got key ${JSON.stringify(k)}`);
        map.set(Number(k), v);
      }
      labels = fromMap(map, fileName);
    } else throw new LabelsError(`${fileName}: expected an array of names or an {"index": "name"} object`);
  } else {
    labels = text.split(/\r?\n/).map((l) => l.trim());
    while (labels.length && labels.at(-1) === '') labels.pop();
    const blank = labels.indexOf('');
    if (blank >= 0) throw new LabelsError(`${fileName}:${blank + 1}: an empty label (one label per line, line n is class n-1)`);
  }
  if (!labels.length) throw new LabelsError(`${fileName}: no labels`);
  const long = labels.findIndex((l) => l.length > 200);
  if (long >= 0) throw new LabelsError(`${fileName}: label ${long} is longer than 200 characters`);
  return labels;
}
