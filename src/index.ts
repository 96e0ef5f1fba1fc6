/** Public entry: the custom element, its types, and the pure building blocks. */
export { InferenceMonitor, DEFAULT_MODEL, type MonitorState, type CameraDown } from './ui/inference-monitor.ts';
export type { AlertDetail, FlaggedDetail, InferenceMonitorEventMap, MonitorErrorDetail, ReadyDetail } from './ui/monitor-events.ts';
export { InferenceHealthPanel, type PanelHost } from './ui/health-panel.ts';
export type { InferenceResult, ReadyInfo, StageTimings } from './inference/protocol.ts';
export type { Detection, Box } from './types/detection.ts';
export { parseManifest, shortVersion, type ModelManifest } from './inference/manifest.ts';
export { MonitorError, type MonitorErrorCode } from './lib/errors.ts';
export { decodeCenternet } from './inference/adapters/centernet.ts';
export { decodeYolo, nms } from './inference/adapters/yolo.ts';
export { decodeClassification } from './inference/adapters/classification.ts';
export { decodeOutputs, checkOutput } from './inference/adapters/index.ts';
export { fitFrame, rgbaToTensor, toSourceBox } from './capture/preprocess.ts';
export { HealthEngine, type AlertEvent, type Baseline, type HealthOptions, type Signal, type Vitals, type ResourceSample } from './health/engine.ts';
export { DEFAULT_RULES, parseRules, type AlertRule, type Aggregation, type Comparator, type Metric, type Severity } from './health/rules.ts';
export { psi, jsDistance, ksStatistic, ksPValue, nullThreshold, Ewma, Cusum, theilSen } from './health/stats.ts';
export { yuvImageStats, rgbaImageStats, sceneDistance, type ImageStats } from './capture/image-stats.ts';
export { createRecorder, checkRecord, Recorder, RecorderError, type RecorderOptions, type RecordInput, type RecordFrame } from './recorder/recorder.ts';
export { COCO_LABELS } from './inference/coco-labels.ts';
