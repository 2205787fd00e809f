// chart.js - small SVG charts for the release page, written for HotPatch:
// a line chart (one or more series over time buckets) and a stacked bar
// chart (version distribution). Every chart is a <figure> with a caption that
// says what it counts, an SVG with <title>/<desc> for screen readers, a
// legend, and the numbers as a table under a <details> disclosure.
import { h, table } from './dom.js';

// The drawing is sized to the width it will be shown at (text stays 11 px
// high on a phone); set at the start of each chart function.
let W = 640;
let H = 220;
const M = { l: 44, r: 12, t: 12, b: 30 };

function size(width) {
  W = Math.round(Math.max(280, Math.min(1000, width || 640)));
  H = W < 480 ? 200 : 220;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

function frame(title, desc, yMax, yFmt, labels, xFmt) {
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg' },
    h('title', null, title), h('desc', null, desc));
  const ih = H - M.t - M.b;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = M.t + ih - (ih * i) / 4;
    svg.append(h('line', { x1: M.l, x2: W - M.r, y1: y, y2: y, class: i ? 'grid' : 'axis' }));
    svg.append(h('text', { x: M.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, yFmt(v)));
  }
  const n = labels.length;
  const picks = n <= 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
  for (const i of new Set(picks)) {
    const anchor = i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
    svg.append(h('text', { x: xAt(i, n), y: H - 8, class: 'tick', 'text-anchor': anchor }, xFmt(labels[i])));
  }
  return svg;
}

function xAt(i, n) {
  const iw = W - M.l - M.r;
  return n <= 1 ? M.l + iw / 2 : M.l + (iw * i) / (n - 1);
}

function yAt(v, yMax) {
  const ih = H - M.t - M.b;
  return M.t + ih - (ih * Math.min(v, yMax)) / yMax;
}

function legend(names) {
  return h('ul', { class: 'legend' }, names.map((name, i) => h('li', null, h('span', { class: `key s${i % 8}` }), name)));
}

function figure(title, caption, svg, names, tableHead, tableRows) {
  return h('figure', { class: 'chart' },
    h('h3', null, title),
    svg,
    legend(names),
    h('figcaption', null, caption),
    h('details', null, h('summary', null, 'Show the numbers'), table(title, tableHead, tableRows)));
}

// series: [{name, values: [number|null]}]; labels: bucket start times.
export function lineChart({ title, caption, labels, series, yMax, yFmt = String, xFmt = String, width }) {
  size(width);
  const max = yMax || niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v != null))));
  const svg = frame(title, caption, max, yFmt, labels, xFmt);
  series.forEach((s, si) => {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v == null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xAt(i, labels.length).toFixed(1)} ${yAt(v, max).toFixed(1)} `;
      pen = true;
    });
    if (d) svg.append(h('path', { d: d.trim(), class: `line s${si % 8}` }));
    if (labels.length <= 72 && W >= 480) {
      s.values.forEach((v, i) => {
        if (v == null) return;
        svg.append(h('circle', { cx: xAt(i, labels.length), cy: yAt(v, max), r: 2.5, class: `dot s${si % 8}` },
          h('title', null, `${s.name}, ${xFmt(labels[i])}: ${yFmt(v)}`)));
      });
    }
  });
  const rows = labels.map((t, i) => [xFmt(t), ...series.map((s) => (s.values[i] == null ? '—' : yFmt(s.values[i])))]);
  return figure(title, caption, svg, series.map((s) => s.name), ['Bucket', ...series.map((s) => s.name)], rows);
}

// stacks: [{name, values: [number]}] drawn bottom-up in one bar per label.
export function stackedBars({ title, caption, labels, stacks, xFmt = String, width }) {
  size(width);
  const totals = labels.map((_, i) => stacks.reduce((a, s) => a + (s.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const svg = frame(title, caption, max, (v) => String(Math.round(v)), labels, xFmt);
  const n = labels.length;
  const iw = W - M.l - M.r;
  const bw = Math.max(2, Math.min(28, (iw / Math.max(n, 1)) * 0.7));
  labels.forEach((t, i) => {
    let acc = 0;
    const cx = n <= 1 ? M.l + iw / 2 : M.l + bw / 2 + ((iw - bw) * i) / (n - 1);
    stacks.forEach((s, si) => {
      const v = s.values[i] || 0;
      if (!v) return;
      const y0 = yAt(acc, max);
      const y1 = yAt(acc + v, max);
      acc += v;
      svg.append(h('rect', { x: (cx - bw / 2).toFixed(1), y: y1.toFixed(1), width: bw.toFixed(1),
        height: Math.max(0.5, y0 - y1).toFixed(1), class: `bar s${si % 8}` },
      h('title', null, `${s.name}, ${xFmt(t)}: ${v} ${v === 1 ? 'device' : 'devices'}`)));
    });
  });
  const rows = labels.map((t, i) => [xFmt(t), ...stacks.map((s) => String(s.values[i] || 0))]);
  return figure(title, caption, svg, stacks.map((s) => s.name), ['Bucket', ...stacks.map((s) => s.name)], rows);
}
