#!/usr/bin/env node
/**
 * `npm run manifest -- model.onnx [options]` (the package's `inference-monitor-manifest` bin): reads an ONNX
 * model, guesses its manifest (guess.ts), and writes it beside the model (model.json) for
 * `<inference-monitor model="…/model.json">`. Exit status 0 when written, 1 with a message naming the option
 * that settles what it could not decide, 2 for a bad command line.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type GuessOptions, GuessError, guessManifest } from './guess.ts';
import { LabelsError, parseLabels } from './labels.ts';
import { OnnxFormatError, readOnnx, shapeText } from './onnx-info.ts';
import { shortVersion } from '../lib/short-version.ts';

const USAGE = `usage: inference-monitor-manifest MODEL.onnx [options]

Reads the model's inputs and outputs and writes MODEL.json, the manifest <inference-monitor model="…"> loads.

  --labels FILE          class names: labels.txt (one per line), data.yaml (names:), or labels.json
  --adapter KIND         yolo | centernet | classification (guessed from the outputs' shapes)
  --layout L             NCHW | NHWC (guessed from where the 3 channels are)
  --size WxH             the size to run a model with a dynamic height/width at, e.g. 640x640
  --normalize N          unit (pixels/255) | imagenet | none (0–255) | scale=255,mean=R,G,B,std=R,G,B
  --channels C           RGB | BGR (default RGB)          --bgr   same as --channels BGR
  --resize R             stretch | letterbox (YOLO: letterbox)
  --pad P                letterbox padding: 114 or R,G,B
  --input NAME           the image input, when the graph has several
  --id ID  --name NAME   the model's id and display name
  --out FILE             where to write (default: MODEL.json beside the model); --force to overwrite
  --print                write the manifest to stdout instead
`;

class UsageError extends Error {}

const oneOf = <T extends string>(flag: string, v: string, allowed: readonly T[]): T => {
  const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  if (!hit) throw new UsageError(`${flag} ${v}: expected ${allowed.join(' | ')}`);
  return hit;
};

const triple = (flag: string, parts: string[]): [number, number, number] => {
  const n = parts.map(Number);
  if (n.length !== 3 || n.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag}: expected three numbers R,G,B, got ${parts.join(',')}`);
  return n as [number, number, number];
};

function parseNormalize(v: string): GuessOptions['normalize'] {
  if (/^(imagenet|unit|none)$/i.test(v)) return v.toLowerCase() as 'imagenet' | 'unit' | 'none';
  const fields: Record<string, string[]> = {};
  let key = '';
  for (const tok of v.split(',')) {
    const m = /^(scale|mean|std)=(.*)$/.exec(tok.trim());
    if (m) (key = m[1]!), (fields[key] = [m[2]!]);
    else if (key) fields[key]!.push(tok.trim());
    else throw new UsageError(`--normalize ${v}: expected imagenet | unit | none | scale=…,mean=R,G,B,std=R,G,B`);
  }
  const scale = Number(fields.scale?.[0] ?? 255);
  if (!(scale > 0)) throw new UsageError(`--normalize: scale must be a positive number`);
  return { scale, mean: fields.mean ? triple('--normalize mean', fields.mean) : [0, 0, 0], std: fields.std ? triple('--normalize std', fields.std) : [1, 1, 1] };
}

/** The command line → the model path, guess options and output choices. */
export function parseArgs(argv: string[]): { model: string; options: GuessOptions; labelsFile?: string; out?: string; force: boolean; print: boolean } {
  let model: string | undefined;
  const options: GuessOptions = {};
  let labelsFile: string | undefined, out: string | undefined;
  let force = false, print = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--labels': labelsFile = value(); break;
      case '--adapter': options.adapter = oneOf(a, value(), ['yolo', 'centernet', 'classification'] as const); break;
      case '--layout': options.layout = oneOf(a, value(), ['NCHW', 'NHWC'] as const); break;
      case '--size': {
        const v = value();
        const m = /^(\d{1,5})x(\d{1,5})$/i.exec(v);
        if (!m || !Number(m[1]) || !Number(m[2])) throw new UsageError(`--size ${v}: expected WIDTHxHEIGHT, e.g. 640x640`);
        options.size = { width: Number(m[1]), height: Number(m[2]) };
        break;
      }
      case '--normalize': options.normalize = parseNormalize(value()); break;
      case '--channels': options.channels = oneOf(a, value(), ['RGB', 'BGR'] as const); break;
      case '--bgr': options.channels = 'BGR'; break;
      case '--resize': options.resize = oneOf(a, value(), ['stretch', 'letterbox'] as const); break;
      case '--pad': {
        const v = value();
        const parts = v.split(',').map(Number);
        if (!(parts.length === 1 || parts.length === 3) || parts.some((x) => !(Number.isInteger(x) && x >= 0 && x <= 255))) throw new UsageError(`--pad ${v}: expected 0–255 or R,G,B`);
        options.pad = parts.length === 1 ? parts[0]! : (parts as [number, number, number]);
        break;
      }
      case '--input': options.input = value(); break;
      case '--id': options.id = value(); break;
      case '--name': options.name = value(); break;
      case '--out': out = value(); break;
      case '--force': force = true; break;
      case '--print': print = true; break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        if (model) throw new UsageError(`one model at a time (got ${model} and ${a})`);
        model = a;
    }
  }
  if (!model) throw new UsageError('no model given');
  return { model, options, labelsFile, out, force, print };
}

/** Runs the command; returns the exit status (messages to stdout/stderr). */
export function main(argv: string[], io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): number {
  if (argv.includes('-h') || argv.includes('--help')) return io.out(USAGE), 0;
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return io.err(`manifest: ${e.message}\n\n${USAGE}`), 2;
    throw e;
  }
  try {
    const modelPath = resolve(args.model);
    if (!existsSync(modelPath)) throw new GuessError(`${args.model}: no such file`);
    const bytes = readFileSync(modelPath);
    const info = readOnnx(bytes);
    if (args.labelsFile) {
      if (!existsSync(args.labelsFile)) throw new GuessError(`--labels ${args.labelsFile}: no such file`);
      args.options.labels = parseLabels(readFileSync(args.labelsFile, 'utf8'), basename(args.labelsFile));
      args.options.labelsFrom = basename(args.labelsFile);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const { manifest, notes } = guessManifest(info, { name: basename(modelPath), sha256, bytes: bytes.length }, args.options);
    const json = `${JSON.stringify(manifest, null, 2)}\n`;
    if (args.print) return io.out(json), 0;
    const out = resolve(args.out ?? join(dirname(modelPath), `${basename(modelPath).replace(/\.onnx$/i, '')}.json`));
    if (existsSync(out) && !args.force) throw new GuessError(`${out} exists: --force to overwrite, or --out FILE`);
    if (args.out && dirname(out) !== dirname(modelPath)) notes.push(`the manifest's file is '${manifest.file}', relative to the manifest: keep ${basename(modelPath)} beside it`);
    writeFileSync(`${out}.tmp`, json);
    renameSync(`${out}.tmp`, out);
    const i = manifest.input;
    io.out(
      `wrote ${out}\n  ${manifest.adapter}, ${manifest.labels.length} classes; input ${i.name} [${i.shape.join(', ')}] ${i.layout} ${i.dtype ?? 'float32'} ${i.channels}, ${i.resize}; ` +
        `outputs ${manifest.outputs.map((o) => `${o.name} ${shapeText(o.shape ?? null)}`).join(', ')}; sha256 ${shortVersion(sha256)}\n` +
        notes.map((n) => `  note: ${n}\n`).join(''),
    );
    return 0;
  } catch (e) {
    if (e instanceof GuessError || e instanceof LabelsError || e instanceof OnnxFormatError || (e as Error).name === 'MonitorError') return io.err(`manifest: ${(e as Error).message}\n`), 1;
    throw e;
  }
}

const entry = process.argv[1] ? resolve(process.argv[1]) : '';
if (entry && (import.meta.url === `file://${entry}` || /[\\/]models[\\/]cli\.[jt]s$/.test(entry) || /inference-monitor-manifest$/.test(entry))) process.exitCode = main(process.argv.slice(2));
