/**
 * The health panel's uPlot charts: options for each chart, stacking, and a plug-in that marks alerts on
 * the time axis. Data stays columnar ([t, ys1, ys2, …], times in ms) from the store to the canvas.
 */
import uPlot from 'uplot';

export interface ChartTheme {
  axis: string;
  grid: string;
  palette: string[];
  alert: string;
  band: string;
}

export interface AlertMark {
  t: number;
  state: string;
}

/** Vertical marks at alert state changes (firing solid, resolved dashed). */
function alertMarks(get: () => AlertMark[], theme: () => ChartTheme): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const marks = get();
        if (!marks.length) return;
        const { ctx, bbox } = u;
        ctx.save();
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.strokeStyle = theme().alert;
        for (const m of marks) {
          const x = u.valToPos(m.t, 'x', true);
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.setLineDash(m.state === 'firing' ? [] : [4 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

export interface ChartSpec {
  /** accessible name of the chart */
  title: string;
  /** `spanGaps`: a line drawn across buckets without a value (a sparse series, e.g. a duty-cycled reference model's) */
  series: { label: string; scale?: string; fill?: boolean; dash?: number[]; width?: number; color?: number; spanGaps?: boolean }[];
  /** pairs of series indices (1-based) to fill between, e.g. a p10–p90 band or stacked areas */
  bands?: [number, number][];
  scales?: Record<string, { range?: [number, number] }>;
  axes?: { scale: string; side: 1 | 3; label?: string; fmt?: (v: number) => string }[];
}

/** Builds uPlot options for a spec. */
export function chartOptions(
  spec: ChartSpec,
  size: { width: number; height: number },
  theme: () => ChartTheme,
  marks: () => AlertMark[],
  onZoom: (from: number, to: number) => void,
): uPlot.Options {
  const t = theme();
  const color = (i: number) => t.palette[i % t.palette.length]!;
  const axis = (o: Partial<uPlot.Axis>): uPlot.Axis => ({ stroke: t.axis, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 }, ...o });
  return {
    ...size,
    ms: 1,
    legend: { show: true, live: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: { time: true }, ...Object.fromEntries(Object.entries(spec.scales ?? {}).map(([k, v]) => [k, v.range ? { range: v.range } : { auto: true }])) },
    series: [
      {},
      ...spec.series.map((s, i) => ({
        label: s.label,
        scale: s.scale ?? 'y',
        stroke: color(s.color ?? i),
        width: s.width ?? 1.5,
        ...(s.dash ? { dash: s.dash } : {}),
        ...(s.fill ? { fill: color(s.color ?? i) + '55' } : {}),
        spanGaps: s.spanGaps ?? false,
        points: { show: false },
      })),
    ],
    bands: spec.bands?.map(([a, b]) => ({ series: [a, b], fill: t.band })),
    axes: [
      axis({}),
      ...(spec.axes ?? [{ scale: 'y', side: 3 as const }]).map((a) =>
        axis({ scale: a.scale, side: a.side, ...(a.label ? { label: a.label } : {}), size: 48, ...(a.fmt ? { values: (_u: uPlot, vs: number[]) => vs.map(a.fmt!) } : {}), ...(a.side === 1 ? { grid: { show: false } } : {}) }),
      ),
    ],
    plugins: [alertMarks(marks, theme)],
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width > 4) {
            const from = u.posToVal(u.select.left, 'x'), to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onZoom(Math.round(from), Math.round(to));
          }
        },
      ],
    },
  };
}

/** Running sums of series (for stacked areas): out[k] = ys[0] + … + ys[k], NaN-safe. */
export function stack(ys: number[][]): number[][] {
  const out: number[][] = [];
  let acc: number[] | undefined;
  for (const y of ys) {
    acc = y.map((v, i) => (Number.isFinite(v) ? v : 0) + (acc ? acc[i]! : 0));
    out.push(acc);
  }
  return out;
}

export { uPlot };
