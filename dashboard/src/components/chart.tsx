import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  stroke: string;
  /** How a value shows in the legend and on the axis. */
  format: (v: number) => string;
}

/**
 * A time chart (uPlot): times in epoch ms shown in the site's time zone, 24-hour; dragging across
 * it zooms (the caller reads that range again from the server); `marks` are drawn as vertical
 * lines (manual scrap entries). Without `onZoom` (a report's fixed period) dragging does nothing.
 */
export function TimeChart(props: { t: number[]; series: ChartSeries[]; timeLabel: (t: number) => string; onZoom?: (from: number, to: number) => void; marks?: number[]; label: string; height?: number; xSpace?: number; timeZone?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const latest = useRef(props);
  latest.current = props;
  useEffect(() => {
    const el = host.current!;
    const fmt = props.series[0]?.format ?? String;
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height: props.height ?? 280,
      ms: 1,
      // Ticks on the hours and midnights of the site's time zone (else the browser's).
      ...(props.timeZone !== undefined ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts), props.timeZone!) } : {}),
      scales: { x: { time: true } },
      series: [{ value: (_u, v) => (v === null ? '–' : latest.current.timeLabel(v)) }, ...props.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? '–' : s.format(v)) }))],
      // `xSpace`: the least room (px) between time labels, for labels longer than a time of day.
      axes: [{ values: (_u, splits) => splits.map((v) => latest.current.timeLabel(v)), ...(props.xSpace !== undefined ? { space: props.xSpace } : {}) }, { values: (_u, splits) => splits.map((v) => fmt(v)), size: 60 }],
      cursor: { drag: { x: props.onZoom !== undefined, y: false } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            latest.current.onZoom?.(Math.round(from), Math.round(to));
          },
        ],
        draw: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = '#8250df';
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
            for (const m of latest.current.marks ?? []) {
              const x = Math.round(u.valToPos(m, 'x', true));
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    plot.current = new uPlot(opts, [props.t, ...props.series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: props.height ?? 280 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
    // The chart is made once per set of series; new data goes through setData below.
  }, [props.series.length]);
  useEffect(() => {
    plot.current?.setData([props.t, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.t, props.series, props.marks]);
  return <div class="chart" ref={host} role="img" aria-label={props.label} />;
}
