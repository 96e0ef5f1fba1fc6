import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // needs torch (~200 MB, `npm run yolo-venv`): only `npm run interop` runs it (it sets INTEROP_TORCH=1)
    exclude: [...configDefaults.exclude, ...(process.env.INTEROP_TORCH === '1' ? [] : ['test/interop/yolo-export.test.ts'])],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // three files at a time on two cores: many suites wait on real time (a server process, Alertmanager down for
    // 30 s, quiet hours ending) rather than compute; one at a time took 5.6 min of CI, three 2.6 min
    maxWorkers: 3,
  },
});
