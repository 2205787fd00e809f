// dom.js - build DOM nodes without ever parsing HTML. Every string passed as a
// child becomes a text node, so user text (release notes, names, audit
// details) is always shown as text; no string is ever parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';
const SVG_TAGS = new Set(['svg', 'g', 'path', 'line', 'rect', 'text', 'title', 'desc', 'circle', 'polyline']);

export function h(tag, props, ...kids) {
  const el = SVG_TAGS.has(tag) ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const kid of kids) {
    if (kid === undefined || kid === null || kid === false) continue;
    if (Array.isArray(kid)) append(el, kid);
    else el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
}

export function clear(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

export function fmtTime(t) {
  if (!t) return '—';
  return new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function fmtPct(bp) {
  const p = bp / 100;
  return (Number.isInteger(p) ? p.toFixed(0) : p.toFixed(2)) + '%';
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// A table with a caption; rows are arrays of cells (strings or nodes).
export function table(caption, head, rows, opts = {}) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', { class: opts.class },
      h('caption', { class: opts.showCaption ? '' : 'sr-only' }, caption),
      h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))));
}
