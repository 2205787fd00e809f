// pages.js - the dashboard's pages. Each page function fetches what it shows
// and returns a node; app.js puts it in <main>. Buttons that change anything
// are only built when the signed-in user's role allows it (the server checks
// the role again on every call), and every change asks for confirmation.
import { api, ApiError, q } from './api.js';
import { h, clear, fmtTime, fmtPct, plural, table } from './dom.js';
import { lineChart, stackedBars } from './chart.js';
import { toast, go, errorBox, setNav, render } from './app.js';

const RANK = { read: 1, write: 2, admin: 3, owner: 4 };
const can = (role, need) => (RANK[role] || 0) >= RANK[need];

function badge(state) {
  return h('span', { class: `badge st-${state}` }, state.replace('_', ' '));
}

function section(title, ...kids) {
  return h('section', { 'aria-label': title }, h('h2', null, title), ...kids);
}

function empty(msg, ...more) {
  return h('div', { class: 'empty' }, h('p', null, msg), ...more);
}

// A modal confirmation (native <dialog>: focus is trapped, Escape cancels).
function confirmDialog(title, body, okLabel, danger) {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary' }, okLabel);
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-body' },
      h('h2', { id: 'dlg-title' }, title), h('p', { id: 'dlg-body' }, body), h('div', { class: 'row end' }, cancel, ok));
    let answered = false;
    const done = (v) => {
      if (answered) return;
      answered = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    cancel.addEventListener('click', () => done(false));
    ok.addEventListener('click', () => done(true));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    (danger ? cancel : ok).focus();
  });
}

// Run a change after confirmation; re-render on success, say what failed otherwise.
async function act(btn, confirm, call, success, where) {
  if (confirm && !(await confirmDialog(...confirm))) return;
  btn.disabled = true;
  try {
    const r = await call();
    toast(success(r));
    await render();
  } catch (e) {
    btn.disabled = false;
    if (where) clear(where, errorBox(e, 'The change'));
    else toast(e.message, 'bad');
  }
}

async function loadApp(app) {
  const r = await api('GET', `/v1/apps/${q(app)}`);
  return r.app;
}

// ---- apps ----

export async function appsPage() {
  setNav(null);
  const { apps } = await api('GET', '/v1/apps');
  const head = h('h1', { tabindex: '-1' }, 'Your apps');
  if (!apps.length) {
    return h('div', null, head, empty("You don't have access to any app yet.",
      h('p', null, 'An admin of your organisation can create one (POST /v1/apps) or give you a role on an existing app.')));
  }
  return h('div', null, head,
    h('ul', { class: 'cards' }, apps.map((a) => h('li', { class: 'card' },
      h('h2', null, h('a', { href: `#/apps/${q(a.name)}` }, a.name)),
      h('p', { class: 'muted' }, `Your role: ${a.role}. Created ${fmtTime(a.created_at)}.`)))));
}

// ---- one app: channels and releases ----

export async function appPage(app) {
  setNav(app, 'app');
  const [info, ch, rel, ad] = await Promise.all([
    loadApp(app),
    api('GET', `/v1/apps/${q(app)}/channels`),
    api('GET', `/v1/releases?app=${q(app)}&limit=200`),
    api('GET', `/v1/apps/${q(app)}/adoption`),
  ]);
  const stats = new Map(ad.releases.map((r) => [r.release_id, r]));
  const releases = rel.releases;
  const perChannel = (c) => releases.filter((r) => r.platform === c.platform && r.channel === c.channel);
  const chanRows = ch.channels.map((c) => {
    const rs = perChannel(c);
    const live = rs.filter((r) => r.state === 'active' || r.state === 'halted');
    return [c.platform, c.channel, String(c.sequence), c.published ? 'yes' : 'pending', fmtTime(c.expires_at),
      rs.length ? `${plural(rs.length, 'release', 'releases')} (${live.length} live): ${rs.slice(0, 4).map((r) => r.version).join(', ')}${rs.length > 4 ? ', …' : ''}` : 'none'];
  });
  const relRows = releases.map((r) => {
    const s = stats.get(r.id) || { installs: 0, failures: 0, rollbacks: 0, current_devices: 0, adoption_bp: 0 };
    return [
      h('a', { href: `#/apps/${q(app)}/releases/${q(r.id)}` }, r.version),
      `${r.platform} / ${r.channel}`,
      h('code', null, r.target_binary),
      fmtPct(r.rollout_bp),
      badge(r.state),
      r.mandatory ? 'yes' : 'no',
      fmtTime(r.created_at),
      `${s.installs} / ${s.failures} / ${s.rollbacks}`,
      `${fmtPct(s.adoption_bp)} (${plural(s.current_devices, 'device', 'devices')})`,
    ];
  });
  return h('div', null,
    h('h1', { tabindex: '-1' }, app, ' ', h('span', { class: 'role' }, `your role: ${info.role}`)),
    section('Channels',
      ch.channels.length
        ? table(`Channels of ${app}`, ['Platform', 'Channel', 'Manifest sequence', 'Published', 'Manifest expires', 'Releases'], chanRows)
        : empty('No channel has a manifest yet. The first release on a channel creates it.')),
    section('Releases',
      releases.length
        ? [table(`Releases of ${app}`, ['Version', 'Platform / channel', 'Target binary', 'Rollout', 'State', 'Mandatory', 'Created',
          'Installs / failures / rollbacks', 'Adoption'], relRows),
        h('p', { class: 'note' }, 'Installs, failures and rollbacks count distinct devices that reported each, since the release was created. ',
          'Adoption: devices whose current release this is, out of all devices on the same platform that have a current release.')]
        : empty('No releases yet. Publish the first one with "hotpatch release" from your app\'s folder.')));
}

// ---- one release ----

function detailList(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function rolloutControl(r, where) {
  const pct = r.rollout_bp / 100;
  const out = h('output', { for: 'rollout', id: 'rollout-value' }, fmtPct(r.rollout_bp));
  const slider = h('input', { id: 'rollout', type: 'range', min: '0', max: '100', step: '1', value: String(Math.round(pct)),
    'aria-describedby': 'rollout-help' });
  const apply = h('button', { type: 'button', class: 'primary', id: 'apply-rollout', disabled: true }, 'Apply rollout…');
  slider.addEventListener('input', () => {
    clear(out, `${slider.value}%`);
    apply.disabled = Number(slider.value) * 100 === r.rollout_bp;
  });
  apply.addEventListener('click', () => {
    const v = Number(slider.value);
    act(apply, [`Roll out ${r.version} to ${v}%?`,
      `Devices on ${r.platform} / ${r.channel} whose cohort falls under ${v}% will be offered version ${r.version}. ` +
      'The channel manifest is re-signed with a new sequence and the edges pick it up within seconds.', `Set rollout to ${v}%`, false],
    () => api('PATCH', `/v1/releases/${q(r.id)}/rollout`, { rollout_bp: v * 100 }),
    (x) => `Rollout of ${r.version} is now ${v}%. Manifest sequence ${x.manifest.sequence}.`, where);
  });
  return h('fieldset', { class: 'rollout' }, h('legend', null, 'Rollout'),
    h('div', { class: 'row' }, h('label', { for: 'rollout' }, 'Share of devices offered this release'), out),
    slider,
    h('p', { id: 'rollout-help', class: 'muted' }, 'Raising the share only adds devices; each release draws its own cohort.'),
    apply);
}

function actionButtons(r, where) {
  const btns = [];
  const verb = (label, path, title, body, ok, danger, msg) => {
    const b = h('button', { type: 'button', class: danger ? 'danger' : '', 'data-action': path }, label);
    b.addEventListener('click', () => act(b, [title, body, ok, danger],
      () => api('POST', `/v1/releases/${q(r.id)}/${path}`, {}), () => msg, where));
    btns.push(b);
  };
  if (r.state === 'active') {
    verb('Halt', 'halt', `Halt ${r.version}?`, 'No device will be offered this release any more; devices that installed it keep it. You can resume later.',
      'Halt release', true, `${r.version} is halted.`);
  }
  if (r.state === 'halted') {
    verb('Resume', 'resume', `Resume ${r.version}?`, 'Devices in its rollout cohort will be offered it again.', 'Resume release', false,
      `${r.version} is offered again.`);
  }
  if (r.state === 'active' || r.state === 'halted') {
    verb('Roll back', 'rollback', `Roll back ${r.version}?`,
      'Devices that installed it are told to return to the previous release. This cannot be undone; publish a new release instead.',
      'Roll back release', true, `${r.version} is rolled back.`);
  }
  if (r.state !== 'archived') {
    verb('Archive', 'archive', `Archive ${r.version}?`, 'It is removed from the channel manifest. Devices that run it keep it.',
      'Archive release', true, `${r.version} is archived.`);
  }
  const to = h('input', { id: 'promote-to', type: 'text', required: true, pattern: '[A-Za-z0-9._-]{1,64}', autocomplete: 'off' });
  const pb = h('button', { type: 'submit' }, 'Promote…');
  const promote = h('form', { class: 'row promote', onsubmit: (e) => {
    e.preventDefault();
    const c = to.value.trim();
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(c)) {
      clear(where, h('div', { class: 'error', role: 'alert' }, 'A channel name is 1 to 64 letters, digits, dots, dashes or underscores.'));
      return;
    }
    act(pb, [`Promote ${r.version} to ${c}?`, `The same signed bundle becomes a new release on ${r.platform} / ${c}, offered to all of its devices.`,
      `Promote to ${c}`, false],
    () => api('POST', `/v1/releases/${q(r.id)}/promote`, { to_channel: c }), (x) => `Promoted to ${c} as release ${x.release.id}.`, where);
  } }, h('label', { for: 'promote-to' }, 'Promote to channel'), to, pb);
  return h('div', { class: 'actions' }, h('div', { class: 'row wrap' }, btns), promote);
}

function bucketLabel(unit) {
  return (t) => {
    const s = new Date(t * 1000).toISOString();
    return unit === 'hour' ? `${s.slice(5, 10)} ${s.slice(11, 16)}` : s.slice(0, 10);
  };
}

async function charts(r, unit, box) {
  const n = unit === 'hour' ? 48 : 30;
  const windowText = unit === 'hour' ? 'the last 48 hours, by hour (UTC)' : 'the last 30 days, by day (UTC)';
  clear(box, h('p', { class: 'muted' }, 'Loading charts…'));
  try {
    const [s, v] = await Promise.all([
      api('GET', `/v1/releases/${q(r.id)}/series?bucket=${unit}&buckets=${n}`),
      api('GET', `/v1/apps/${q(r.app)}/versions?platform=${q(r.platform)}&bucket=${unit}&buckets=${n}`),
    ]);
    const labels = s.points.map((p) => p.t);
    // the figure's inner width: its box minus the figure's padding and border
    const width = (box.clientWidth || document.getElementById('main').clientWidth) - 34;
    const fmt = bucketLabel(unit);
    const rate = (num, den) => (den ? Math.round((1000 * num) / den) / 10 : null);
    const adoption = lineChart({
      title: 'Adoption',
      caption: `Distinct devices on ${r.version} at the end of each bucket (applied and not failed or rolled back since), and distinct devices that reported applying it in the bucket; ${windowText}.`,
      labels, xFmt: fmt, width,
      series: [{ name: 'Devices on this release', values: s.points.map((p) => p.active) },
        { name: 'Applied in the bucket', values: s.points.map((p) => p.applied) }],
    });
    const rates = lineChart({
      title: 'Failure and rollback rates',
      caption: `Failure rate: devices that reported a failed install ÷ devices that reported applied or failed, per bucket. Rollback rate: devices that rolled back ÷ devices that applied, per bucket. Distinct devices, ${windowText}; empty where no device reported.`,
      labels, xFmt: fmt, width, yMax: 100, yFmt: (x) => `${Math.round(x * 10) / 10}%`,
      series: [{ name: 'Failure rate', values: s.points.map((p) => rate(p.failed, p.applied + p.failed)) },
        { name: 'Rollback rate', values: s.points.map((p) => rate(p.rolled_back, p.applied)) }],
    });
    const byT = new Map(v.points.map((p) => [p.t, p.versions]));
    const totals = new Map();
    for (const p of v.points) for (const x of p.versions) totals.set(x.version, (totals.get(x.version) || 0) + x.devices);
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map((e) => e[0]);
    const stacks = top.map((ver) => ({ name: ver, values: labels.map((t) => ((byT.get(t) || []).find((x) => x.version === ver) || {}).devices || 0) }));
    if (totals.size > top.length) {
      stacks.push({ name: 'other versions', values: labels.map((t) => (byT.get(t) || []).filter((x) => !top.includes(x.version)).reduce((a, x) => a + x.devices, 0)) });
    }
    const dist = totals.size
      ? stackedBars({ title: `Version distribution (${r.platform})`, labels, xFmt: fmt, stacks, width,
        caption: `Distinct ${r.platform} devices of ${r.app} by the version they run at the end of each bucket (their latest applied release not failed or rolled back); ${windowText}.` })
      : h('figure', { class: 'chart' }, h('h3', null, `Version distribution (${r.platform})`),
        empty(`No ${r.platform} device of ${r.app} has reported an applied install in ${windowText.split(',')[0]}.`));
    clear(box, adoption, rates, dist);
  } catch (e) {
    clear(box, errorBox(e, 'Loading the charts'));
  }
}

export async function releasePage(app, id) {
  setNav(app, 'app');
  const [info, { release: r }, { stats: st }, audit] = await Promise.all([
    loadApp(app),
    api('GET', `/v1/releases/${q(id)}`),
    api('GET', `/v1/releases/${q(id)}/stats`),
    api('GET', `/v1/apps/${q(app)}/audit?release=${q(id)}&limit=20`),
  ]);
  const where = h('div', { 'aria-live': 'assertive' });
  const canWrite = can(info.role, 'write');
  const chartBox = h('div', { class: 'charts' });
  let unit = 'hour';
  const unitBtns = ['hour', 'day'].map((u) => h('button', { type: 'button', 'aria-pressed': String(u === unit), onclick: (e) => {
    unit = u;
    unitBtns.forEach((b) => b.setAttribute('aria-pressed', String(b === e.currentTarget)));
    charts(r, unit, chartBox);
  } }, u === 'hour' ? 'Last 48 hours' : 'Last 30 days'));
  charts(r, unit, chartBox);
  const attempts = st.installs + st.failures;
  return h('div', null,
    h('p', { class: 'crumbs' }, h('a', { href: `#/apps/${q(app)}` }, app), ' › release'),
    h('h1', { tabindex: '-1' }, `${r.version} on ${r.platform} / ${r.channel} `, badge(r.state)),
    where,
    canWrite ? section('Actions', rolloutControl(r, where), actionButtons(r, where))
      : h('p', { class: 'note' }, `You have the ${info.role} role on ${app}: you can look, but changes need the write role.`),
    section('Release',
      detailList([
        ['Release id', h('code', null, r.id)],
        ['Target binary', h('code', null, r.target_binary)],
        ['Rollout', fmtPct(r.rollout_bp)],
        ['Mandatory', r.mandatory ? 'yes' : 'no'],
        ['Created', `${fmtTime(r.created_at)} by ${r.created_by || 'unknown'}`],
        r.promoted_from ? ['Promoted from', r.promoted_from] : null,
        ['Bundle', `${r.size} bytes, SHA-256 ${r.sha256 ? r.sha256.slice(0, 16) : ''}…`],
        ['Release notes', r.notes ? h('p', { class: 'notes' }, r.notes) : h('span', { class: 'muted' }, 'none')],
      ])),
    section('Installs',
      detailList([
        ['Installed', plural(st.installs, 'device', 'devices')],
        ['Failed', plural(st.failures, 'device', 'devices')],
        ['Rolled back', plural(st.rollbacks, 'device', 'devices')],
        ['Downloading', plural(st.downloading, 'device', 'devices')],
        ['On it now', plural(st.active_devices, 'device', 'devices')],
        ['Failure rate', attempts ? fmtPct(st.failure_rate_bp) : 'no installs yet'],
      ]),
      h('p', { class: 'note' }, 'Distinct devices that reported each status for this release since it was created. ',
        'Failure rate: (failed + rolled back) ÷ (installed + failed), the figure auto-halt uses.')),
    section('Over time', h('div', { class: 'row', role: 'group', 'aria-label': 'Chart window' }, unitBtns), chartBox),
    section('History',
      audit.events.length
        ? table(`Changes to ${r.version}`, ['When', 'Who', 'What', 'Details'], audit.events.map(auditRow))
        : empty('Nothing has been recorded for this release yet.')));
}

function auditRow(e) {
  return [fmtTime(e.at), e.actor, e.action, h('code', { class: 'detail' }, JSON.stringify(e.detail))];
}

// ---- devices ----

export async function devicePage(app, id) {
  setNav(app, 'devices');
  await loadApp(app);
  const input = h('input', { id: 'device-id', type: 'search', value: id, required: true, maxlength: '128', autocomplete: 'off' });
  const form = h('form', { class: 'row', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    if (input.value.trim()) go(`#/apps/${q(app)}/devices?id=${q(input.value.trim())}`);
  } }, h('label', { for: 'device-id' }, 'Device id'), input, h('button', { type: 'submit', class: 'primary' }, 'Look up'));
  const head = [h('h1', { tabindex: '-1' }, `Devices of ${app}`), form];
  if (!id) return h('div', null, head, h('p', { class: 'muted' }, 'Enter the device id your app reports (the SDK\'s device_id) to see its current release and every report it sent.'));
  let d;
  try {
    d = await api('GET', `/v1/apps/${q(app)}/device?id=${q(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return h('div', null, head, empty(`No device "${id}" has reported to ${app}. Device ids are case-sensitive; check for typos.`));
    }
    throw e;
  }
  const cur = d.current_release;
  return h('div', null, head,
    section(`Device ${id}`,
      detailList([
        ['Platform', d.device ? d.device.platform || '—' : '—'],
        ['Binary version', d.device ? d.device.binary_version || '—' : '—'],
        ['OS', d.device ? d.device.os || '—' : '—'],
        ['First seen', d.device ? fmtTime(d.device.first_seen) : '—'],
        ['Last seen', d.device ? fmtTime(d.device.last_seen) : '—'],
        ['Current release', cur ? h('a', { href: `#/apps/${q(app)}/releases/${q(cur.release_id)}` }, `${cur.version} (${cur.channel})`)
          : 'none: it has not applied a release it still runs'],
      ])),
    section('Report history',
      d.history.length
        ? [table(`Reports from ${id}`, ['When', 'Release', 'Channel', 'Status', 'Binary version'],
          d.history.map((x) => [fmtTime(x.ts), h('a', { href: `#/apps/${q(app)}/releases/${q(x.release_id)}` }, x.version), x.channel,
            x.status + (x.progress != null && x.status === 'downloading' ? ` (${x.progress}%)` : ''), x.binary_version || '—'])),
        h('p', { class: 'note' }, 'Newest first, at most 200 reports. The current release is the newest release this device applied and has not failed or rolled back.')]
        : empty('This device has not sent any install report yet.')));
}

// ---- audit log ----

export async function auditPage(app) {
  setNav(app, 'audit');
  const { events } = await api('GET', `/v1/apps/${q(app)}/audit?limit=200`);
  return h('div', null, h('h1', { tabindex: '-1' }, `Audit log of ${app}`),
    events.length
      ? [table(`Audit log of ${app}`, ['When', 'Who', 'What', 'Release', 'Details'],
        events.map((e) => [fmtTime(e.at), e.actor, e.action,
          e.release_id ? h('a', { href: `#/apps/${q(app)}/releases/${q(e.release_id)}` }, e.release_id) : '—',
          h('code', { class: 'detail' }, JSON.stringify(e.detail))])),
      h('p', { class: 'note' }, 'The newest 200 changes. "user:N" is a person, "key:N" an API key.')]
      : empty('Nothing has happened in this app yet.'));
}

// ---- keys ----

export async function keysPage(app) {
  setNav(app, 'keys');
  const info = await loadApp(app);
  const admin = can(info.role, 'admin');
  const where = h('div', { 'aria-live': 'assertive' });
  const { keys } = await api('GET', `/v1/apps/${q(app)}/keys`);
  let apiKeys = null;
  if (admin) apiKeys = (await api('GET', `/v1/apps/${q(app)}/api-keys`)).api_keys;

  const rkRows = keys.map((k) => {
    const row = [h('code', null, k.keyid), k.name || '—', fmtTime(k.created_at), h('code', { class: 'pk' }, k.public_key)];
    if (admin) {
      const b = h('button', { type: 'button', class: 'danger small' }, 'Revoke…');
      b.addEventListener('click', () => act(b, [`Revoke release key ${k.keyid}?`,
        'New releases signed with it will be refused. Releases already published stay valid.', 'Revoke key', true],
      () => api('DELETE', `/v1/apps/${q(app)}/keys/${q(k.keyid)}`), () => `Release key ${k.keyid} is revoked.`, where));
      row.push(b);
    }
    return row;
  });
  const rkHead = ['Key id', 'Name', 'Registered', 'Public key', ...(admin ? [''] : [])];
  const parts = [h('h1', { tabindex: '-1' }, `Keys of ${app}`), where,
    section('Release keys',
      h('p', { class: 'muted' }, 'Bundles must be signed by one of these keys (their private halves stay with your developers or CI).'),
      keys.length ? table(`Release keys of ${app}`, rkHead, rkRows) : empty('No release key is registered, so no release can be published yet.'),
      admin ? addReleaseKeyForm(app, where) : null)];
  if (!admin) {
    parts.push(section('API keys', h('p', { class: 'note' }, `Only admins see and manage API keys; you have the ${info.role} role.`)));
    return h('div', null, parts);
  }
  const akRows = apiKeys.map((k) => {
    const b = h('button', { type: 'button', class: 'danger small' }, 'Revoke…');
    b.addEventListener('click', () => act(b, [`Revoke API key ${k.key_id}?`, 'Anything using it (CI, scripts) stops working at once.', 'Revoke key', true],
      () => api('DELETE', `/v1/api-keys/${q(k.key_id)}`), () => `API key ${k.key_id} is revoked.`, where));
    return [h('code', null, k.key_id), k.name || '—', k.role, k.scope === 'org' ? 'whole organisation' : `app ${k.app}`, k.created_by || '—',
      fmtTime(k.created_at), b];
  });
  parts.push(section('API keys',
    apiKeys.length ? table(`API keys for ${app}`, ['Key id', 'Name', 'Role', 'Scope', 'Created by', 'Created', ''], akRows)
      : empty('No API key can act on this app.'),
    createApiKeyForm(app, info.role, where)));
  return h('div', null, parts);
}

function addReleaseKeyForm(app, where) {
  const pk = h('input', { id: 'rk-public', type: 'text', required: true, maxlength: '128', autocomplete: 'off', spellcheck: 'false' });
  const name = h('input', { id: 'rk-name', type: 'text', maxlength: '128' });
  const b = h('button', { type: 'submit' }, 'Register key');
  return h('form', { class: 'stack', onsubmit: (e) => {
    e.preventDefault();
    if (!pk.value.trim()) {
      clear(where, h('div', { class: 'error', role: 'alert' }, 'Paste the public key printed by "hotpatch keygen".'));
      return;
    }
    act(b, null, () => api('POST', `/v1/apps/${q(app)}/keys`, { public_key: pk.value.trim(), name: name.value.trim() || undefined }),
      (x) => `Release key ${x.key.keyid} is registered.`, where);
  } }, h('h3', null, 'Register a release key'),
  h('label', { for: 'rk-public' }, 'Public key (base64, from "hotpatch keygen")'), pk,
  h('label', { for: 'rk-name' }, 'Name (optional)'), name, b);
}

function createApiKeyForm(app, myRole, where) {
  const name = h('input', { id: 'ak-name', type: 'text', maxlength: '128', required: true });
  const roles = ['read', 'write', 'admin'].filter((r) => can(myRole, r));
  const role = h('select', { id: 'ak-role' }, roles.map((r) => h('option', { value: r }, r)));
  const b = h('button', { type: 'submit' }, 'Create API key');
  const shown = h('div', { 'aria-live': 'polite' });
  return h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    if (!name.value.trim()) {
      clear(where, h('div', { class: 'error', role: 'alert' }, 'Give the key a name, such as "ci" or "release bot", so you can tell it apart later.'));
      return;
    }
    b.disabled = true;
    try {
      const r = await api('POST', `/v1/apps/${q(app)}/api-keys`, { name: name.value.trim(), role: role.value });
      clear(shown, h('div', { class: 'secret' }, h('p', null, h('strong', null, 'Copy this key now: '), 'it is shown only once.'),
        h('code', { id: 'new-api-key' }, r.api_key),
        h('p', null, h('button', { type: 'button', onclick: () => render() }, 'I have copied it'))));
      name.value = '';
    } catch (err) {
      clear(where, errorBox(err, 'Creating the API key'));
    }
    b.disabled = false;
  } }, h('h3', null, 'Create an API key'),
  h('label', { for: 'ak-name' }, 'Name'), name,
  h('label', { for: 'ak-role' }, 'Role'), role, b, shown);
}
