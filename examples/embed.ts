/**
 * Example 1: the monitor dropped into an existing app's layout. The app styles it (embed.css: custom
 * properties and ::part), listens to its events for its own sidebar, and lets it run on the bundled model.
 */
import '../src/index.ts';

const monitor = document.querySelector('inference-monitor')!;
const health = document.getElementById('health')!;
const throughput = document.getElementById('throughput')!;
let frames = 0;
const since = performance.now();
monitor.addEventListener('ready', (e) => {
  health.textContent = `model: ${e.detail.modelId} on ${e.detail.backend}`;
  health.className = 'pill ok';
});
monitor.addEventListener('inference', (e) => {
  frames++;
  const people = e.detail.detections.filter((d) => d.label === 'person').length;
  throughput.textContent = `${(frames / ((performance.now() - since) / 1000)).toFixed(1)} frames/s · ${people} in view`;
});
monitor.addEventListener('alert', (e) => {
  health.textContent = e.detail.state === 'firing' ? `alert: ${e.detail.name}` : 'model: healthy';
  health.className = `pill ${e.detail.state === 'firing' ? 'alert' : 'ok'}`;
});
monitor.addEventListener('error', (e) => {
  health.textContent = `model: ${e.detail.message}`;
  health.className = 'pill alert';
});
