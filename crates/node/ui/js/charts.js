// Pictures: small SVG charts drawn from the API's numbers. Each has a text
// equivalent for screen readers.

import { h, s } from './dom.js';
import { t, number } from './i18n.js';

const W = 320;
const H = 200;
const PAD = 32;

function frame(label, ...children) {
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' },
    s('title', {}, label), ...children);
}

function axes(xLabel, yLabel) {
  return [
    s('line', { x1: PAD, y1: H - PAD, x2: W - 8, y2: H - PAD, class: 'axis' }),
    s('line', { x1: PAD, y1: 8, x2: PAD, y2: H - PAD, class: 'axis' }),
    s('text', { x: W - 8, y: H - 8, 'text-anchor': 'end', class: 'label' }, xLabel),
    s('text', { x: PAD + 4, y: 12, class: 'label' }, yLabel),
  ];
}

/** Gini coefficient of non-negative values (0 = equal, 1 = one holds all). */
export function gini(values) {
  const sorted = values.filter((v) => v >= 0).sort((a, b) => a - b);
  const n = sorted.length;
  const total = sorted.reduce((a, b) => a + b, 0);
  if (n === 0 || total === 0) return 0;
  let weighted = 0;
  sorted.forEach((v, i) => { weighted += (i + 1) * v; });
  return (2 * weighted) / (n * total) - (n + 1) / n;
}

/** The Lorenz curve of `values` against the line of equality; the caller
 * gives its words (`label`, `xLabel`, `yLabel`), already translated. */
export function lorenz(values, { label, xLabel, yLabel }) {
  const sorted = values.filter((v) => v >= 0).sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0) || 1;
  const x = (share) => PAD + share * (W - 8 - PAD);
  const y = (share) => H - PAD - share * (H - PAD - 8);
  let cumulative = 0;
  const points = [[x(0), y(0)]];
  sorted.forEach((v, i) => {
    cumulative += v;
    points.push([x((i + 1) / sorted.length), y(cumulative / total)]);
  });
  return frame(label,
    ...axes(xLabel, yLabel),
    s('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'equality' }),
    s('polyline', { points: points.map((p) => p.join(',')).join(' '), class: 'series' }));
}

/** Lines over a shared x axis: `series` is [{name, points: [[x, y]...]}];
 * the caller gives the words, already translated. */
export function lines(series, { xLabel, yLabel, label, threshold, yMax }) {
  const all = series.flatMap((one) => one.points);
  if (all.length === 0) return h('p', { class: 'muted' }, t('chart.empty'));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).concat(threshold === undefined ? [] : [threshold]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = yMax || Math.max(...ys, 0) || 1;
  const x = (v) => PAD + (x1 === x0 ? 0.5 : (v - x0) / (x1 - x0)) * (W - 8 - PAD);
  const y = (v) => H - PAD - (v / y1) * (H - PAD - 8);
  const drawn = series.map((one, index) => s('polyline', {
    points: one.points.map(([a, b]) => `${x(a)},${y(b)}`).join(' '),
    class: `series series-${index}`,
  }));
  const legend = series.length < 2 ? null : h('ul', { class: 'legend' },
    series.map((one, index) => h('li', { class: `series-${index}` }, one.name)));
  const extra = [];
  if (threshold !== undefined) {
    extra.push(s('line', { x1: PAD, y1: y(threshold), x2: W - 8, y2: y(threshold), class: 'threshold' }));
    extra.push(s('text', { x: W - 10, y: y(threshold) - 4, 'text-anchor': 'end', class: 'label' }, t('chart.threshold')));
  }
  extra.push(s('text', { x: PAD - 3, y: y(y1) + 4, 'text-anchor': 'end', class: 'tick' }, number(y1)));
  return h('div', { class: 'chart-wrap' }, frame(label, ...axes(xLabel, yLabel), ...extra, ...drawn), legend);
}

/** A bar of `share` (0..1) with a mark at `threshold`. */
export function bar(share, threshold, label) {
  const width = Math.max(0, Math.min(1, share)) * 100;
  const wrap = h('span', { class: 'bar', role: 'img', 'aria-label': label, title: label });
  const fillEl = h('span', { class: share >= threshold ? 'bar-fill reached' : 'bar-fill' });
  fillEl.style.width = `${width}%`;
  const mark = h('span', { class: 'bar-mark' });
  mark.style.left = `${Math.min(1, threshold) * 100}%`;
  wrap.append(fillEl, mark);
  return wrap;
}
