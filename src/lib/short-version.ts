/** A model version's short form (the first 12 hex digits of its ONNX file's sha256): what records, rollups, labels and displays use. */
export const shortVersion = (sha256: string) => sha256.slice(0, 12);
