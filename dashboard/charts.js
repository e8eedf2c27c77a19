import { h } from './dom.js';

const colours = ['#2f6fed', '#18864b', '#c4320a', '#7a5af8'];

/**
 * A line chart as inline SVG: one line per series over the samples' times, a zero-based y axis
 * with its maximum labelled. No library: a few polylines.
 */
export function lineChart(title, samples, series, { testid } = {}) {
  const width = 520;
  const height = 160;
  const pad = { left: 44, right: 8, top: 10, bottom: 20 };
  const times = samples.map((s) => new Date(s.at).getTime());
  const values = series.flatMap((s) => samples.map((p) => s.value(p)).filter((v) => v !== null && v !== undefined));
  const max = Math.max(1, ...values);
  const t0 = Math.min(...times);
  const t1 = Math.max(t0 + 1, ...times);
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  const svg = h(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
    h('line', { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), stroke: '#e4e7ec' }),
    h('line', { x1: pad.left, y1: y(max), x2: width - pad.right, y2: y(max), stroke: '#f2f4f7' }),
    h('text', { x: pad.left - 4, y: y(max) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667085' }, fmt(max)),
    h('text', { x: pad.left - 4, y: y(0) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667085' }, '0'),
    samples.length > 0
      ? h(
          'text',
          { x: width - pad.right, y: height - 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667085' },
          new Date(t1).toISOString().slice(11, 19),
        )
      : null,
    series.map((s, i) => {
      const points = samples
        .map((p, j) => [times[j], s.value(p)])
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      return points.length > 0
        ? h('polyline', {
            points:
              points.length === 1 ? `${points[0]} ${x(t1).toFixed(1)},${points[0].split(',')[1]}` : points.join(' '),
            fill: 'none',
            stroke: colours[i % colours.length],
            'stroke-width': 2,
            'data-series': s.name,
          })
        : null;
    }),
  );
  return h(
    'div',
    { class: 'chart', 'data-testid': testid },
    h('div', { class: 'title' }, title),
    svg,
    h(
      'div',
      { class: 'legend' },
      series.map((s, i) =>
        h('span', {}, h('i', { class: `c${i}` }), `${s.name}: ${fmt(s.value(samples.at(-1) ?? {}))}`),
      ),
    ),
  );
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 });
}
