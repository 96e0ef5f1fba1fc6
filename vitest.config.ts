import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // needs torch (~200 MB, `npm run yolo-venv`): only `npm run interop` runs it (it sets INTEROP_TORCH=1)
    exclude: [...configDefaults.exclude, ...(process.env.INTEROP_TORCH === '1' ? [] : ['test/interop/yolo-export.test.ts'])],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
