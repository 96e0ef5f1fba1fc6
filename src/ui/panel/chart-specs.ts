/** The panel's trend charts as data: their titles, each chart's uPlot spec and data for a refresh, and their colours. */
import { type ChartSpec, type ChartTheme, stack, type uPlot } from '../charts.ts';
import type { PanelData } from './data-source.ts';

export const CHART_TITLES = {
  latency: 'Latency by stage, median per bucket, stacked (ms)',
  confidence: 'Mean confidence with p10–p90 band and baseline',
  classes: 'Detections per minute by class, stacked',
  image: 'Input image: brightness, sharpness and scene distance',
  memory: 'JS heap (MB)',
  agreement: 'Agreement with the reference model: F1, precision, recall and baseline F1',
} as const;

export type ChartName = keyof typeof CHART_TITLES;

/**
 * Whether the range has reference-model data to chart: a bucket it judged frames in (rollup `ag`), or a monitor
 * running a reference now (its vitals). A series without the field (an older fleet server) has none.
 */
export const hasAgreement = (d: PanelData | undefined) => !!d && (d.series.agreement?.frames.some((n) => n > 0) || d.vitals.some((v) => v.reference));

/** The charts the panel shows, in order: the agreement chart only where a reference ran or runs. */
export const chartNames = (d: PanelData | undefined): ChartName[] => ['latency', 'confidence', 'classes', 'image', 'memory', ...(hasAgreement(d) ? (['agreement'] as const) : [])];

/** The charts' colours: the element's --hp-axis, --hp-grid, --hp-alert, --hp-band and --hp-palette, else the light or dark defaults. */
export function chartTheme(el: Element, dark: boolean): ChartTheme {
  const s = getComputedStyle(el);
  const v = (name: string, fallback: string) => s.getPropertyValue(name).trim() || fallback;
  return {
    axis: v('--hp-axis', dark ? '#c8c8c8' : '#333'),
    grid: v('--hp-grid', dark ? '#ffffff1f' : '#0000001a'),
    alert: v('--hp-alert', '#e5484d'),
    band: v('--hp-band', dark ? '#4aa3ff33' : '#1f6feb26'),
    palette: v('--hp-palette', '#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #17becf').split(/\s+/),
  };
}

/** Each chart's spec and data for a refresh's series (`label`: a class's name, for the per-class chart). */
export function chartSpecs(d: PanelData, label: (id: number) => string): Record<string, { spec: ChartSpec; data: uPlot.AlignedData }> {
  const s = d.series;
  const t = s.t;
  const stages = ['queue', 'preprocess', 'inference', 'postprocess'] as const;
  const stacked = stack(stages.map((k) => s.p50[k]));
  const baselineConf = d.vitals[0]?.confidence.baselineMean ?? NaN;
  const totals = new Map<number, number>();
  for (const c of s.classCounts) for (const [k, n] of Object.entries(c)) totals.set(+k, (totals.get(+k) ?? 0) + n);
  const top = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k]) => k);
  const perMin = { '10s': 6, '1m': 1, '1h': 1 / 60 }[s.res];
  const classStack = stack(top.map((k) => s.classCounts.map((c) => (c[k] ?? 0) * perMin)));
  return {
    latency: {
      spec: {
        title: CHART_TITLES.latency,
        series: stages.map((k, i) => ({ label: k, fill: true, color: i })).reverse(),
        axes: [{ scale: 'y', side: 3, label: 'ms' }],
      },
      data: [t, ...[...stacked].reverse()],
    },
    confidence: {
      spec: {
        title: CHART_TITLES.confidence,
        series: [{ label: 'mean' }, { label: 'p10', width: 0.5 }, { label: 'p90', width: 0.5 }, { label: 'baseline', dash: [6, 4], color: 3 }],
        bands: [[3, 2]],
        scales: { y: { range: [0, 1] } },
      },
      data: [t, s.meanConfidence, s.confP10, s.confP90, t.map(() => baselineConf)],
    },
    classes: {
      spec: {
        title: CHART_TITLES.classes,
        series: top.map((k, i) => ({ label: label(k), fill: true, color: i })).reverse(),
        axes: [{ scale: 'y', side: 3, label: '/min' }],
      },
      data: [t, ...[...classStack].reverse()],
    },
    image: {
      spec: {
        title: CHART_TITLES.image,
        series: [{ label: 'brightness', scale: 'luma' }, { label: 'sharpness', scale: 'sharp' }, { label: 'scene distance', scale: 'scene' }],
        scales: { luma: { range: [0, 255] }, scene: { range: [0, 1] } },
        axes: [{ scale: 'luma', side: 3, label: 'luma' }, { scale: 'scene', side: 1, label: 'scene' }],
      },
      data: [t, s.image.br, s.image.sh, s.image.sc],
    },
    memory: {
      spec: { title: CHART_TITLES.memory, series: [{ label: 'heap MB' }], axes: [{ scale: 'y', side: 3, label: 'MB' }] },
      data: [t, s.heapMB],
    },
    ...(hasAgreement(d) ? { agreement: agreementChart(d) } : {}),
  };
}

/**
 * The deployed model's agreement with the reference per bucket (from the rollups' `ag`: F1 = 2tp / (2tp + fp +
 * fn), precision, recall), and the baseline's F1 dashed, as the confidence chart draws its baseline. The
 * reference runs on a duty cycle, so buckets without a run are spanned, not gaps.
 */
function agreementChart(d: PanelData): { spec: ChartSpec; data: uPlot.AlignedData } {
  const s = d.series;
  const nan = () => s.t.map(() => NaN);
  const a = s.agreement ?? { f1: nan(), precision: nan(), recall: nan() };
  const ref = d.vitals.find((v) => v.reference && Number.isFinite(v.reference.baselineF1))?.reference;
  const baseline = ref?.baselineF1 ?? NaN;
  return {
    spec: {
      title: CHART_TITLES.agreement,
      series: [
        { label: 'F1', width: 2, spanGaps: true },
        { label: 'precision', width: 0.75, spanGaps: true },
        { label: 'recall', width: 0.75, spanGaps: true },
        { label: 'baseline F1', dash: [6, 4], color: 3 },
      ],
      scales: { y: { range: [0, 1] } },
    },
    data: [s.t, a.f1, a.precision, a.recall, s.t.map(() => baseline)],
  };
}
