/**
 * The bundled default model (CenterNet MobileNetV2 FPN, COCO; converted at install by scripts/build-model.ts):
 * its manifest, imported (a few KB, bundled into the code), and its ONNX file as a `new URL(…, import.meta.url)`,
 * the form bundlers (Vite, Rollup, webpack 5, Parcel) recognise — so a host app that imports the package gets
 * the model copied into its build and served, with nothing to configure.
 */
import manifest from '../../models/centernet-coco.json' with { type: 'json' };

export const DEFAULT_MODEL_MANIFEST: unknown = manifest;
export const DEFAULT_MODEL_FILE = new URL('../../models/centernet-coco.onnx', import.meta.url).href;
