import { defineConfig } from '@playwright/test';
import { resolve } from 'node:path';

const DEV_PORT = Number(process.env.E2E_DEV_PORT ?? 5199);
const KIOSK_PORT = Number(process.env.E2E_PORT ?? 5200);
const camera = resolve(import.meta.dirname, 'fixtures', 'vtest.y4m');
const flags = [
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-fake-device-for-media-stream',
];
const base = [...flags, `--use-file-for-fake-video-capture=${camera}`];
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: 'list',
  // The kiosk registers a service worker; page.route does not see what one answers, so none runs unless a
  // spec asks for it (e2e/offline.spec.ts).
  use: { browserName: 'chromium', baseURL: `http://127.0.0.1:${KIOSK_PORT}`, serviceWorkers: 'block' },
  projects: [
    {
      name: 'chromium',
      testIgnore: /camera-denied|health-dark|health-frozen|health-night|health-stretches|health-conditions|flagging-still|frozen-still/,
      use: { launchOptions: { executablePath, args: [...base, '--use-fake-ui-for-media-stream'] } },
    },
    {
      // no auto-accepting permission UI: getUserMedia is refused
      name: 'camera-denied',
      testMatch: /camera-denied/,
      use: { launchOptions: { executablePath, args: base } },
    },
    {
      // the camera's lighting drops halfway through the clip
      name: 'health-dark',
      testMatch: /health-dark/,
      use: { launchOptions: { executablePath, args: [...flags, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${resolve(import.meta.dirname, 'fixtures', 'vtest-dark.y4m')}`] } },
    },
    {
      // at night (the camera's IR picture), the picture freezes halfway through the clip (its last frame repeated, as a hung encoder sends)
      name: 'frozen',
      testMatch: /health-frozen/,
      use: { launchOptions: { executablePath, args: [...flags, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${resolve(import.meta.dirname, 'fixtures', 'vtest-night-frozen.y4m')}`] } },
    },
    {
      // a camera's faults at night: night (learnt first), day (marked a fault), night again — covered, bumped, then a blind deployment (#29)
      name: 'night',
      testMatch: /health-night/,
      use: { launchOptions: { executablePath, args: [...flags, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${resolve(import.meta.dirname, 'fixtures', 'vtest-night-faults-long-day.y4m')}`] } },
    },
    {
      // a quiet and a busy stretch of vtest, looped, then the hall mirrored (another scene, same image statistics)
      name: 'stretches',
      testMatch: /health-stretches/,
      use: { launchOptions: { executablePath, args: [...flags, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${resolve(import.meta.dirname, 'fixtures', 'vtest-stretches.y4m')}`] } },
    },
    {
      // a compressed day: day, night (learnt), day, a 3-minute dusk into the night, then a defocus at night, looping (#29)
      name: 'daynight',
      testMatch: /health-conditions/,
      use: { launchOptions: { executablePath, args: [...flags, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${resolve(import.meta.dirname, 'fixtures', 'vtest-compressed-day.y4m')}`] } },
    },
    {
      // a still scene (a photo held, with sensor noise): near-duplicate suppression; not a frozen feed
      name: 'still',
      testMatch: /flagging-still|frozen-still/,
      use: { launchOptions: { executablePath, args: [...flags, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${resolve(import.meta.dirname, 'fixtures', 'still.y4m')}`] } },
    },
  ],
  webServer: [
    {
      // dev server: test pages under e2e/pages
      command: `npx vite --port ${DEV_PORT} --strictPort`,
      url: `http://127.0.0.1:${DEV_PORT}/e2e/pages/parity.html`,
      reuseExistingServer: !process.env.CI,
      timeout: 120_000,
    },
    {
      // the kiosk as it ships: production build, strict CSP, COOP/COEP
      command: `npx vite build --outDir dist-e2e --emptyOutDir && npx vite preview --outDir dist-e2e --port ${KIOSK_PORT} --strictPort`,
      url: `http://127.0.0.1:${KIOSK_PORT}/`,
      reuseExistingServer: !process.env.CI,
      timeout: 180_000,
    },
  ],
});
