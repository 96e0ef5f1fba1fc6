/**
 * docs/api.md is complete: every public attribute, property, method, event, CSS part and CSS custom property of
 * `<inference-monitor>` and `<inference-health-panel>`, and every member and option of the recorder, read from
 * the sources, is named in its section. Adding one without documenting it fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const src = (p: string) => readFileSync(join(root, 'src', p), 'utf8');
const doc = readFileSync(join(root, 'docs', 'api.md'), 'utf8');

/** The doc's section under `## {title}` (up to the next `## `). */
function section(title: string): string {
  const at = doc.indexOf(`## ${title}`);
  if (at < 0) throw new Error(`docs/api.md has no section '## ${title}'`);
  const next = doc.indexOf('\n## ', at + 3);
  return doc.slice(at, next < 0 ? undefined : next);
}

/** Names that a section does not mention as `name` (in code spans, possibly with arguments). */
const missing = (sec: string, names: string[]) => names.filter((n) => !new RegExp('`' + n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '[`(]').test(sec));

/** Attributes and non-attribute properties from a Lit element's `static properties` (state excluded). */
function reactive(code: string): { attributes: string[]; properties: string[] } {
  const block = /static (?:override )?properties = \{([\s\S]*?)\n {2}\};/.exec(code)![1]!;
  const attributes: string[] = [], properties: string[] = [];
  for (const m of block.matchAll(/^\s+(\w+): \{([^}]*)\}/gm)) {
    const [, name, opts] = m as unknown as [string, string, string];
    if (/state: true/.test(opts)) continue;
    properties.push(name);
    const attr = /attribute: '([^']+)'/.exec(opts)?.[1];
    if (/attribute: false/.test(opts)) continue;
    attributes.push(attr ?? name.toLowerCase());
  }
  return { attributes, properties };
}

/** Public methods and getters of the class in `code` (not private, not Lit's lifecycle). */
function members(code: string, cls: string): string[] {
  const start = code.indexOf(`class ${cls} `);
  const body = code.slice(start);
  const names = new Set<string>();
  for (const m of body.matchAll(/^ {2}(?:async |static )?(?:get )?([a-zA-Z]\w*)\(/gm)) names.add(m[1]!);
  for (const skip of ['constructor', 'render', 'firstUpdated', 'updated', 'willUpdate', 'connectedCallback', 'disconnectedCallback', 'if', 'for']) names.delete(skip);
  return [...names];
}

const parts = (code: string) => [...new Set([...code.matchAll(/part="([a-z-]+)[" ]/g)].map((m) => m[1]!))];
const customProps = (code: string, prefix: string) => [...new Set([...code.matchAll(new RegExp(`var\\((--${prefix}-[a-z0-9-]+)`, 'g'))].map((m) => m[1]!))];

describe('docs/api.md', () => {
  it('lists every attribute, property, method, event, part and custom property of <inference-monitor>', () => {
    const code = src('ui/inference-monitor.ts');
    // the element's parts and custom properties, in its file or the modules it is made of (ui/monitor/)
    const all = [code, ...readdirSync(join(root, 'src/ui/monitor')).filter((f) => f.endsWith('.ts')).map((f) => src(`ui/monitor/${f}`))].join('\n');
    const sec = section('`<inference-monitor>`');
    const { attributes, properties } = reactive(code);
    expect(attributes.length).toBeGreaterThan(20);
    expect(missing(sec, attributes), 'attributes').toEqual([]);
    expect(missing(sec, properties), 'properties').toEqual([]);
    const ms = members(code, 'InferenceMonitor extends');
    expect(ms).toContain('annotate');
    expect(missing(sec, ms), 'methods and getters').toEqual([]);
    const events = [...src('ui/monitor-events.ts').matchAll(/^ {2}(\w+): CustomEvent</gm)].map((m) => m[1]!);
    expect(events.sort()).toEqual(['alert', 'challenger', 'condition', 'error', 'flagged', 'inference', 'ready']);
    expect(missing(sec, events), 'events').toEqual([]);
    expect(parts(all)).toEqual(expect.arrayContaining(['stage', 'bar', 'panel']));
    expect(missing(sec, parts(all)), 'CSS parts').toEqual([]);
    expect(missing(sec, customProps(all + src('ui/monitor-styles.ts'), 'im')), 'CSS custom properties').toEqual([]);
  });

  it('lists every attribute, property, method, event, part and custom property of <inference-health-panel>', () => {
    const code = src('ui/health-panel.ts');
    // the element's parts, events and custom properties, in its file or the modules it is made of (ui/panel/)
    const all = [code, ...readdirSync(join(root, 'src/ui/panel')).filter((f) => f.endsWith('.ts')).map((f) => src(`ui/panel/${f}`))].join('\n');
    const sec = section('`<inference-health-panel>`');
    const { attributes, properties } = reactive(code);
    expect(missing(sec, attributes), 'attributes').toEqual([]);
    expect(missing(sec, properties), 'properties').toEqual([]);
    expect(missing(sec, members(code, 'InferenceHealthPanel extends')), 'methods').toEqual([]);
    const events = [...all.matchAll(/new CustomEvent\('([a-z-]+)'/g)].map((m) => m[1]!);
    expect(missing(sec, events), 'events').toEqual([]);
    expect(parts(all)).toEqual(expect.arrayContaining(['tile', 'classes', 'details']));
    expect(missing(sec, parts(all)), 'CSS parts').toEqual([]);
    expect(missing(sec, customProps(all, 'hp')), 'CSS custom properties').toEqual([]);
  });

  it('lists every member and option of the recorder', () => {
    const code = src('recorder/recorder.ts');
    const sec = section('The headless recorder');
    expect(missing(sec, members(code, 'Recorder extends')), 'methods').toEqual([]);
    const opts = /export interface RecorderOptions \{([\s\S]*?)\n\}/.exec(code)![1]!;
    const options = [...opts.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
    expect(options).toContain('frameRate');
    expect(missing(sec, options), 'options').toEqual([]);
    const input = /export interface RecordInput \{([\s\S]*?)\n\}/.exec(code)![1]!;
    const fields = [...input.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
    for (const f of fields) expect(sec, `record() input field ${f}`).toMatch(new RegExp(`[{ ,\\n]${f}\\??[:,}]`));
    for (const p of ['ready', 'sourceId', 'tags', 'counts']) expect(missing(sec, [p])).toEqual([]);
  });
});
