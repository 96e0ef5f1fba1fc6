/**
 * The kiosk page: a full-window monitor configured by URL parameters (model, backend, camera, threshold),
 * holding a screen wake lock and restarting the pipeline after a failure, with back-off.
 */
import '../../ui/inference-monitor.ts';
import type { MonitorErrorDetail } from '../../ui/inference-monitor.ts';
import { registerOffline } from '../../offline/register.ts';
import { keptTokens } from './kept-token.ts';

const monitor = document.querySelector('inference-monitor')!;
const status = document.getElementById('kiosk-status')!;
const params = new URLSearchParams(location.search);
// tokens leave the address bar (history, proxy logs): kept in this origin's storage once given (kept-token.ts)
const tokens = keptTokens(params);
const attributes: Record<string, string> = {
  model: 'model', backend: 'backend', camera: 'camera', threshold: 'threshold', width: 'width', height: 'height',
  camera_id: 'camera-id', location: 'location', device_id: 'device-id', record: 'record',
  baseline_minutes: 'baseline-minutes', notify: 'notify', panel: 'panel', theme: 'theme', view: 'view', threads: 'threads', flagging: 'flagging',
  reference: 'reference-model', reference_budget: 'reference-budget', challenger: 'challenger-model', challenger_budget: 'challenger-budget', run_timeout: 'run-timeout',
  sync_url: 'sync-url', sync_token: 'sync-token', sync_interval: 'sync-interval', sync_images: 'sync-images', otlp_url: 'otlp-url', otlp_token: 'otlp-token',
};
if (!params.has('theme')) monitor.setAttribute('theme', 'dark'); // a screen by the line: dark by default
// nobody is watching: a spare inference worker stands by to take over from one that dies (standby=off: none)
monitor.toggleAttribute('standby', params.get('standby') !== 'off');
for (const [param, attr] of Object.entries(attributes)) {
  const value = tokens[param] ?? params.get(param);
  if (value !== null) monitor.setAttribute(attr, value); // attribute values are inert text
}

let retries = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let countdown: ReturnType<typeof setInterval> | undefined;

function scheduleRestart(reason: string) {
  clearTimeout(retryTimer);
  clearInterval(countdown);
  const delay = Math.min(60, 2 ** Math.min(retries, 6)) * 1000;
  retries++;
  let left = Math.round(delay / 1000);
  const show = () => (status.textContent = `${reason} — retrying in ${left} s`);
  show();
  countdown = setInterval(() => {
    left = Math.max(0, left - 1);
    show();
  }, 1000);
  retryTimer = setTimeout(() => {
    clearInterval(countdown);
    status.textContent = 'Restarting…';
    void monitor.start();
  }, delay);
}

monitor.addEventListener('ready', () => {
  retries = 0;
  clearTimeout(retryTimer);
  clearInterval(countdown);
  status.textContent = '';
});
monitor.addEventListener('error', (e) => {
  const d = (e as unknown as CustomEvent<MonitorErrorDetail>).detail;
  if (d.fatal) scheduleRestart(d.code === 'camera-not-found' ? 'No camera' : `Stopped (${d.code})`);
});
// A camera plugged in while we wait: try at once.
navigator.mediaDevices?.addEventListener?.('devicechange', () => {
  if (monitor.state === 'error') {
    clearTimeout(retryTimer);
    clearInterval(countdown);
    void monitor.start();
  }
});

// Keep the screen on while the kiosk runs; the lock is released when the page is hidden, so re-take it.
let wakeLock: WakeLockSentinel | undefined;
async function holdWakeLock() {
  try {
    if (document.visibilityState === 'visible' && 'wakeLock' in navigator) wakeLock = await navigator.wakeLock.request('screen');
  } catch {
    /* not allowed here (e.g. not visible, or policy): the kiosk still runs */
  }
  document.body.dataset.wakeLock = wakeLock && !wakeLock.released ? 'held' : 'none';
}
document.addEventListener('visibilitychange', () => void holdWakeLock());
void holdWakeLock();

void monitor.start();

// Offline after the first load: the page, the model and onnxruntime's files from the service worker's cache
// (a build only: the dev server's files are not a build). A new build reloads the page by itself.
if (import.meta.env.PROD)
  registerOffline({ models: params.get('model') ? [params.get('model')!] : [] }).then(
    (r) => (document.body.dataset.offline = r ? 'registered' : 'unsupported'),
    (e: Error) => (document.body.dataset.offline = `failed: ${e.message}`),
  );
