/** One model manifest describes a model: its file, input, outputs, decoding, labels, provenance. */
export interface ModelManifest {
  schema: 1;
  id: string;
  name: string;
  /** ONNX file, relative to the manifest's URL. */
  file: string;
  /** sha256 of the ONNX file, lower-case hex: the model version everywhere. */
  sha256: string;
  bytes: number;
  input: {
    name: string;
    shape: number[];
    dtype: 'float32';
    layout: 'NHWC' | 'NCHW';
    channels: 'RGB' | 'BGR';
    /** How a frame is fitted to the input: stretched, or letterboxed with padding. */
    resize: 'stretch' | 'letterbox';
    /** value = (pixel / scale - mean) / std, per channel; pixel in 0..255. */
    normalization: { scale: number; mean: [number, number, number]; std: [number, number, number] };
  };
  outputs: { name: string; shape: number[]; layout: 'NCHW' | 'NHWC' | 'plain' }[];
  adapter: 'centernet' | 'yolo' | 'classification';
  decode: Record<string, unknown>;
  labels: string[];
  source: { package?: string; version?: string; files?: string[]; upstream?: string; description?: string };
  license: { model: string; notes?: string };
  conversion?: { tool: string; opset: number; weights: 'fp32' | 'fp16'; why?: string };
}

/** Short form of the model version for display. */
export const shortVersion = (sha256: string) => sha256.slice(0, 12);
