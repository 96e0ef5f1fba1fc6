import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

/** Runs the original TF.js graph model (pure-JS CPU backend) and returns the named outputs as plain arrays. */
export async function runTfjsModel(
  modelJson: string,
  input: { data: Float32Array; shape: number[] },
  outputs: string[],
): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  await tf.setBackend('cpu');
  const json = JSON.parse(await readFile(modelJson, 'utf8'));
  const manifest = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  const buffers = await Promise.all(manifest.flatMap((g) => g.paths.map((p) => readFile(join(dirname(modelJson), p)))));
  const weightData = Buffer.concat(buffers);
  const model = await loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      weightSpecs: manifest.flatMap((g) => g.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  });
  const x = tf.tensor(input.data, input.shape, 'float32');
  const result = (await model.executeAsync(x, outputs)) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(result) ? result : [result];
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [i, t] of list.entries()) {
    out.set(outputs[i]!, { data: Float32Array.from(await t.data()), shape: t.shape });
    t.dispose();
  }
  x.dispose();
  model.dispose();
  return out;
}
