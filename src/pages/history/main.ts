/**
 * The history page: the health panel alone (no camera, no model), reading this origin's stored history.
 * URL parameters: camera_id, location, condition (a camera condition's id: colour, mono…), model (version), range (5m, 1h, 24h, 7d), theme (dark, light, auto).
 */
import '../../ui/health-panel.ts';

const panel = document.querySelector('inference-health-panel')!;
const params = new URLSearchParams(location.search);
const attributes: Record<string, string> = { camera_id: 'camera-id', location: 'location', condition: 'condition', model: 'model-version', range: 'range', theme: 'theme' };
for (const [param, attr] of Object.entries(attributes)) {
  const value = params.get(param);
  if (value !== null) panel.setAttribute(attr, value); // attribute values are inert text
}
