/**
 * Test page: Label Studio's own labelling front end (the build `@heartexlabs/label-studio` 1.4.0 ships) opens a
 * labelling config with one task, handed over as the Label Studio app hands an imported task to it. The page
 * adds nothing of its own: `lsReport()` reads back what Label Studio's store holds (its annotation store,
 * regions and its own serialisation of each prediction). No CSP here (unlike the kiosk): Label Studio is a
 * third-party app under test, not part of what the kiosk ships.
 */
import lsfScript from '@heartexlabs/label-studio/build/static/js/main.js?url';
import lsfStyles from '@heartexlabs/label-studio/build/static/css/main.css?url';

interface Prediction {
  id?: number;
  model_version?: string;
  created_ago?: string;
  created_at?: string;
  result: unknown[];
  [k: string]: unknown;
}
interface Task {
  data: Record<string, unknown>;
  predictions?: Prediction[];
}

// Label Studio's front end is a UMD bundle: loaded as a classic script, it sets window.LabelStudio
const loaded = new Promise<void>((resolve, reject) => {
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = lsfStyles;
  document.head.append(css);
  const s = document.createElement('script');
  s.src = lsfScript;
  s.onload = () => resolve();
  s.onerror = () => reject(new Error(`could not load ${lsfScript}`));
  document.head.append(s);
});

/**
 * A prediction as the Label Studio app's data manager hands it to the front end (its `predictionToLSF`: the
 * server's id as pk, the model version as who created it).
 */
const predictionToLSF = (p: Prediction, i: number) => ({
  ...p,
  id: undefined,
  pk: String(p.id ?? i + 1),
  createdAgo: p.created_ago,
  createdBy: p.model_version?.trim() ?? '',
  createdDate: p.created_at,
});

type LabelStudioClass = (new (root: HTMLElement, options: object) => unknown) & { destroyAll(): void };
/** the open Label Studio's store (MobX-State-Tree; untyped here) */
let store: any;

/** Opens `task` under the labelling `config` in Label Studio (closing the one open before); resolves once its store holds the task. */
async function openTask(config: string, task: Task, id: number): Promise<void> {
  await loaded;
  const LabelStudio = (window as unknown as { LabelStudio: LabelStudioClass }).LabelStudio;
  LabelStudio.destroyAll();
  store = undefined;
  await new Promise<void>((resolve) => {
    new LabelStudio(document.getElementById('label-studio')!, {
      config,
      interfaces: ['panel', 'controls', 'side-column', 'topbar', 'annotations:tabs', 'annotations:menu', 'annotations:current', 'predictions:tabs', 'predictions:menu'],
      user: { pk: 1, firstName: 'Interop', lastName: 'Test' },
      task: { id, data: task.data, predictions: (task.predictions ?? []).map(predictionToLSF), annotations: [] },
      // called as the store is made; the task is loaded into it before this promise's continuation runs
      onLabelStudioLoad: (s: unknown) => {
        store = s;
        resolve();
      },
    });
  });
}

/** What Label Studio holds: the task's data, the config's labels, the image as loaded, and each prediction. */
function lsReport() {
  const as = store.annotationStore;
  const image = as.names.get('image');
  const control = as.names.get('label');
  return {
    data: store.task.dataObj,
    labels: control.children.map((l: any) => l.value),
    image: { src: image._value, naturalWidth: image.naturalWidth, naturalHeight: image.naturalHeight },
    predictions: as.predictions.map((p: any) => ({
      type: p.type,
      pk: p.pk,
      createdBy: p.createdBy,
      editable: p.editable,
      selected: p.selected,
      regions: p.regionStore.regions.map((r: any) => ({ id: r.cleanId ?? r.id, type: r.type, labels: r.labels, score: r.score, origin: r.origin })),
      result: p.serializeAnnotation(),
    })),
  };
}

Object.assign(globalThis, { openTask, lsReport });
document.body.dataset.ready = '1';
