/** This build's version, as package.json gives it (sync batches and OTLP exports carry it; test/version.test.ts keeps the two equal). */
export const APP_VERSION = '0.1.0';
