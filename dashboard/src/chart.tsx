// A live line chart (uPlot): the last few minutes of one or two series, redrawn on each sample.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  readonly label: string;
  readonly color: string;
}

export function Chart(props: { title: string; series: readonly Series[]; data: readonly (readonly number[])[]; format: (n: number) => string; testId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { format } = props;

  useEffect(() => {
    const el = host.current!;
    const opts: uPlot.Options = {
      width: el.clientWidth || 400,
      height: 180,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#eef2f6' }, ticks: { stroke: '#e2e8f0' } },
        { stroke: '#64748b', grid: { stroke: '#eef2f6' }, ticks: { stroke: '#e2e8f0' }, size: 74, values: (_u, vals) => vals.map((v) => format(v)) },
      ],
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: `${s.color}22`, points: { show: false }, value: (_u: uPlot, v: number | null) => (v === null ? '' : format(v)) }))],
    };
    const u = new uPlot(opts, props.data as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  const last = props.data[1]?.at(-1);
  return (
    <div class="card chart" data-testid={props.testId} data-last={last ?? 0}>
      <div class="card-title">{props.title}</div>
      <div ref={host} />
    </div>
  );
}
