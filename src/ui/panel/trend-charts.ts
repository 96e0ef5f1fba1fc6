/** The panel's trend charts on screen: a reactive controller owning their uPlot instances — built, given new data, resized, destroyed with the element. */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { type AlertMark, type ChartSpec, type ChartTheme, chartOptions, uPlot } from '../charts.ts';

/** What the charts ask of their panel. */
export interface TrendChartsOptions {
  /** the colours, read when a chart is built or draws its alert marks */
  theme: () => ChartTheme;
  /** a range dragged out on a chart */
  zoom: (from: number, to: number) => void;
}

export class TrendCharts implements ReactiveController {
  /** the range's alerts, marked on every chart */
  marks: AlertMark[] = [];
  private charts = new Map<string, uPlot>();
  private resize?: ResizeObserver;

  constructor(
    private readonly host: ReactiveControllerHost & { readonly renderRoot: ParentNode },
    private readonly options: TrendChartsOptions,
  ) {
    host.addController(this);
  }

  hostDisconnected() {
    this.resize?.disconnect();
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }

  /** Shows each spec in its `[data-chart=name]` element: only its data is set, unless its series changed (then it is rebuilt). */
  draw(specs: Record<string, { spec: ChartSpec; data: uPlot.AlignedData }>) {
    for (const [name, { spec, data }] of Object.entries(specs)) {
      const el = this.host.renderRoot.querySelector<HTMLElement>(`[data-chart="${name}"]`);
      if (!el) continue;
      let chart = this.charts.get(name);
      // a chart whose element was taken away and shown again (the agreement chart, as a reference comes and goes) is rebuilt in the new one
      if (chart && !el.contains(chart.root)) {
        chart.destroy();
        chart = undefined;
      }
      // a chart whose series changed (other classes on top) is rebuilt; otherwise only its data is set
      if (chart && chart.series.length !== spec.series.length + 1) {
        chart.destroy();
        chart = undefined;
      }
      if (chart && spec.series.some((s, i) => chart!.series[i + 1]!.label !== s.label)) {
        chart.destroy();
        chart = undefined;
      }
      if (!chart) {
        const size = { width: Math.max(200, el.clientWidth), height: 160 };
        chart = new uPlot(chartOptions(spec, size, this.options.theme, () => this.marks, (from, to) => this.options.zoom(from, to)), data, el);
        this.charts.set(name, chart);
        this.observe(el);
      } else chart.setData(data);
    }
  }

  private observe(el: HTMLElement) {
    this.resize ??= new ResizeObserver((entries) => {
      for (const e of entries) {
        const name = (e.target as HTMLElement).dataset.chart!;
        const c = this.charts.get(name);
        const w = Math.max(200, Math.floor(e.contentRect.width));
        if (c && Math.abs(c.width - w) > 2) c.setSize({ width: w, height: 160 });
      }
    });
    this.resize.observe(el);
  }
}
