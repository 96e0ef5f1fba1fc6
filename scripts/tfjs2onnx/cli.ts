#!/usr/bin/env node
/** tfjs2onnx: convert a TF.js graph model (model.json + weight shards) to an ONNX file (opset 17). */
import { parseArgs } from 'node:util';
import { convertTfjsToOnnx } from './convert.ts';
import { ConvertError } from './errors.ts';
import { loadTfjsGraphModel } from './tfjs-model.ts';
import { writeFileAtomic } from './write-atomic.ts';

const usage = `usage: tfjs2onnx MODEL.json OUT.onnx [--outputs a,b] [--rename from=to,...] [--weights fp32|fp16] [--output-layout nhwc|nchw] [--input-size HxW] [--no-fuse]`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      allowPositionals: true,
      options: {
        outputs: { type: 'string' },
        rename: { type: 'string' },
        weights: { type: 'string', default: 'fp32' },
        'output-layout': { type: 'string', default: 'nhwc' },
        'input-size': { type: 'string' },
        'no-fuse': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    console.error(`tfjs2onnx: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (positionals.length !== 2) {
    console.error(usage);
    return 2;
  }
  if (!['fp32', 'fp16'].includes(values.weights!) || !['nhwc', 'nchw'].includes(values['output-layout']!)) {
    console.error(`tfjs2onnx: --weights is fp32|fp16 and --output-layout nhwc|nchw\n${usage}`);
    return 2;
  }
  const size = values['input-size']?.match(/^(\d+)x(\d+)$/);
  if (values['input-size'] !== undefined && !size) {
    console.error(`tfjs2onnx: --input-size is HEIGHTxWIDTH, e.g. 416x416\n${usage}`);
    return 2;
  }
  const [input, output] = positionals as [string, string];
  const rename = Object.fromEntries(
    (values.rename ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string]),
  );
  try {
    const model = await loadTfjsGraphModel(input);
    const result = convertTfjsToOnnx(model, {
      outputs: values.outputs?.split(',').filter(Boolean),
      rename,
      weights: values.weights as 'fp32' | 'fp16',
      outputLayout: values['output-layout'] as 'nhwc' | 'nchw',
      ...(size ? { inputSize: [Number(size[1]), Number(size[2])] as [number, number] } : {}),
      fuseActivations: !values['no-fuse'],
    });
    await writeFileAtomic(output, result.onnx);
    console.log(
      `tfjs2onnx: wrote ${output} (${result.onnx.byteLength} bytes; inputs ${result.inputs.map((i) => `${i.name}[${i.shape}]`).join(', ')}; outputs ${result.outputs.map((o) => `${o.name}[${o.shape}] ${o.layout}`).join(', ')})`,
    );
    return 0;
  } catch (e) {
    console.error(`tfjs2onnx: ${e instanceof ConvertError ? e.message : (e as Error).stack ?? e}`);
    return 1;
  }
}

process.exitCode = await main();
