/** Public entry: the custom element, its types, and the pure building blocks. */
export { InferenceMonitor, DEFAULT_MODEL, type MonitorState, type MonitorErrorDetail } from './ui/inference-monitor.ts';
export type { InferenceResult, ReadyInfo, StageTimings } from './inference/protocol.ts';
export type { Detection, Box } from './inference/types.ts';
export { parseManifest, shortVersion, type ModelManifest } from './inference/manifest.ts';
export { MonitorError, type MonitorErrorCode } from './inference/errors.ts';
export { decodeCenternet } from './inference/adapters/centernet.ts';
export { decodeYolo, nms } from './inference/adapters/yolo.ts';
export { decodeClassification } from './inference/adapters/classification.ts';
export { decodeOutputs, checkOutput } from './inference/adapters/index.ts';
export { fitFrame, rgbaToTensor, toSourceBox } from './inference/preprocess.ts';
