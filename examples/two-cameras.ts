/**
 * Example 3: two cameras on one page, each its own monitor with its own tags, and one health panel over the
 * page's store showing both, or either through its camera filter.
 */
import '../src/index.ts';

const panel = document.querySelector('inference-health-panel')!;
const which = document.getElementById('which') as HTMLSelectElement;
which.addEventListener('change', () => {
  if (which.value) panel.setAttribute('camera-id', which.value);
  else panel.removeAttribute('camera-id');
});
