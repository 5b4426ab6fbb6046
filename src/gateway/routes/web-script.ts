/**
 * The web page's script: plain browser JavaScript, served inline and allowed by its hash in the
 * page's Content-Security-Policy. It reads only `/api/v1/groups` and builds every element with
 * createElement/textContent; the policy also requires Trusted Types, so an HTML string sink
 * (innerHTML and the like) would throw instead of rendering data as markup.
 *
 * (About 320 lines: one script, served and hashed whole for the Content-Security-Policy.)
 */
export const WEB_SCRIPT = String.raw`(() => {
'use strict';
const prefix = document.body.dataset.prefix || '';
const $ = (id) => document.getElementById(id);
const state = { doc: undefined, skew: 0, expanded: new Set(), pending: undefined, loading: false, again: false };

const REASONS = {
  'job-deleted': 'Job deleted',
  'cronjob-run-superseded': 'newer run pushed',
  'cronjob-deleted': 'CronJob deleted',
  'run-deleted': 'run deleted',
  'run-superseded': 'newer run pushed',
  'schedule-deleted': 'schedule deleted',
  'namespace-deleted': 'namespace deleted',
  'metricsgroup-deleted': 'MetricsGroup deleted',
  'ttl-expired': 'ttl expired',
  'keep-last-exceeded': 'beyond keepLast',
  'api-delete': 'deleted through the API',
  wipe: 'wiped through the admin API',
};
const POLICY_SOURCES = { flags: 'flag defaults', annotations: 'annotations', metricsgroup: 'MetricsGroup' };

/** An element; text and children become text nodes, never markup. */
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null && c !== false) e.append(c);
  return e;
}
const badge = (kind, text, title) => el('span', { class: 'badge ' + kind, title }, text);

const now = () => Date.now() + state.skew;
/** A duration as people read it, precise where it matters: 42s, 3m5s, 12m, 1h12m, 2d3h. */
function duration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const two = (a, an, b, bn) => a + an + (b > 0 ? b + bn : '');
  if (s < 60) return s + 's';
  if (s < 600) return two(Math.floor(s / 60), 'm', s % 60, 's');
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'm');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}
function relative(iso) {
  const d = Date.parse(iso) - now();
  if (Math.abs(d) < 1500) return 'now';
  return d < 0 ? duration(d) + ' ago' : 'in ' + duration(d);
}
const exact = (iso) => new Date(Date.parse(iso)).toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
const when = (iso) => el('time', { datetime: iso, title: exact(iso) }, relative(iso));
const quote = (v) => JSON.stringify(v);
/** A grouping key's labels, job first. */
const labelsOf = (labels) => Object.entries(labels).sort(([a], [b]) => (a === 'job' ? -1 : b === 'job' ? 1 : a < b ? -1 : a > b ? 1 : 0));
const keyText = (labels) => labelsOf(labels).map(([k, v]) => k + '=' + quote(v)).join(', ');
const namespaceOf = (g) => (g.attribution.namespace || (g.owner && g.owner.namespace) || '');

// ---- filters (kept in the query string, so a filtered view can be shared) ----
const fNamespace = $('f-namespace');
const fJob = $('f-job');
const params = new URLSearchParams(location.search);
fJob.value = params.get('job') || '';
const wantedNamespace = params.get('namespace');
function saveFilters() {
  const q = new URLSearchParams();
  if (fNamespace.value !== '*') q.set('namespace', fNamespace.value);
  if (fJob.value !== '') q.set('job', fJob.value);
  const s = q.toString();
  history.replaceState(null, '', s === '' ? location.pathname : '?' + s);
}
function matches(g) {
  if (fNamespace.value !== '*' && namespaceOf(g) !== fNamespace.value) return false;
  const job = fJob.value.trim().toLowerCase();
  return job === '' || (g.labels.job || '').toLowerCase().includes(job);
}
function fillOptions(groups) {
  const current = fNamespace.options.length > 0 ? fNamespace.value : (wantedNamespace === null ? '*' : wantedNamespace);
  const namespaces = [...new Set(groups.map(namespaceOf))].sort();
  if (current !== '*' && !namespaces.includes(current)) namespaces.push(current);
  fNamespace.replaceChildren(el('option', { value: '*' }, 'all namespaces'),
    ...namespaces.map((n) => el('option', { value: n }, n === '' ? '(not attributed)' : n)));
  fNamespace.value = current;
  $('jobs').replaceChildren(...[...new Set(groups.map((g) => g.labels.job))].sort().map((j) => el('option', { value: j })));
}

// ---- cells ----
function keyCell(g, i) {
  const open = state.expanded.has(g.path);
  const chips = labelsOf(g.labels).map(([k, v]) => el('span', { class: 'label' }, el('span', { class: 'ln' }, k), el('span', { class: 'lv' }, v === '' ? '""' : v)));
  const cell = el('td', { class: 'key' },
    el('button', { type: 'button', class: 'expander', 'aria-expanded': open ? 'true' : 'false', 'aria-controls': 'detail-' + i,
      'data-focus': 'expand:' + g.path, title: 'Show the metric families', onclick: (ev) => toggle(g.path, ev.currentTarget, i) },
      el('span', { class: 'chev', 'aria-hidden': 'true' }, open ? '\u25BE' : '\u25B8'), ...chips));
  const notes = el('div', { class: 'notes' });
  const ins = g.insight;
  if (ins && ins.queued) notes.append(badge('info', 'queued for ' + duration(now() - Date.parse(ins.queued.since)), 'The run waits suspended (e.g. for Kueue admission) since ' + exact(ins.queued.since) + '; overdue counts from its admission'));
  if (ins && ins.overdue) notes.append(badge('bad', 'overdue for ' + duration(now() - Date.parse(ins.overdue.since)), 'The scheduled push has not arrived; overdue since ' + exact(ins.overdue.since)));
  if (!g.lastPushSuccessful && g.lastFailureTime) notes.append(badge('warn', 'last push failed ' + relative(g.lastFailureTime), 'Failed at ' + exact(g.lastFailureTime)));
  if (g.excludedReason) notes.append(badge('warn', 'left out of scrapes', g.excludedReason));
  if (notes.childElementCount > 0) cell.append(notes);
  return cell;
}
function namespaceCell(g) {
  const a = g.attribution;
  const how = { token: 'token', 'pod-ip': 'pod IP', 'url-label': 'URL label', none: 'not attributed' }[a.source] || a.source;
  const sub = [how, a.pod ? 'pod ' + a.pod : ''].filter(Boolean).join(' \u00B7 ');
  return el('td', {}, namespaceOf(g) === '' ? el('span', { class: 'muted' }, '\u2014') : namespaceOf(g), el('div', { class: 'sub' }, sub));
}
/** ' of CronWorkflow nightly', ' of schedule key dag.task', or ''. */
const scheduleText = (o) => (o.schedule ? ' of ' + o.schedule.kind + ' ' + o.schedule.name : o.scheduleKey ? ' of schedule key ' + o.scheduleKey : '');
function ownerCell(g, kubernetes) {
  const o = g.owner;
  if (!o) return el('td', {}, el('span', { class: 'muted' }, kubernetes ? 'unowned' : 'standalone: no owner'));
  const ins = g.insight;
  const alive = ins ? ins.ownerAlive : null;
  const run = g.run && g.run.uid !== o.uid ? el('div', { class: 'sub' }, 'run: ' + g.run.kind + ' ' + g.run.name + scheduleText(g.run)) : null;
  return el('td', {}, o.name, el('div', { class: 'sub' }, o.kind + scheduleText(o),
    alive === true ? badge('ok', 'alive') : alive === false ? badge('bad', 'gone') : null,
    ins && ins.ownerUnknown ? badge('warn', 'unknown', ins.ownerUnknown) : null), run);
}
function pushCell(g) {
  if (!g.lastPushTime) return el('td', { class: 'time' }, el('span', { class: 'muted' }, 'never succeeded'));
  return el('td', { class: 'time' }, when(g.lastPushTime));
}
function scrapeCell(g) {
  return el('td', { class: 'time' }, g.lastScrapeTime ? when(g.lastScrapeTime) : el('span', { class: 'muted', title: 'Prometheus has not scraped the last push yet' }, 'not yet'));
}
function policyCell(g, lifecycle) {
  const ins = g.insight;
  if (!ins) return el('td', {}, el('span', { class: 'muted' }, lifecycle ? 'unknown' : 'none (standalone)'));
  const p = ins.policy;
  const parts = [];
  if (p.ttlMs > 0) parts.push('ttl ' + duration(p.ttlMs));
  if (p.keepLast > 0) parts.push('keep last ' + p.keepLast);
  if (p.overdueAfterMs > 0) parts.push('overdue after ' + duration(p.overdueAfterMs));
  parts.push('grace \u2264 ' + duration(p.maxGraceMs));
  if (ins.policyInvalid) return el('td', { title: ins.policyInvalid }, 'kept: invalid policy', el('div', { class: 'sub' }, ins.policyInvalid));
  const title = 'From ' + POLICY_SOURCES[ins.policySource] + (p.keepUntilSuperseded ? '; a scheduled run is kept until a newer run pushes' : '');
  return el('td', { title }, p.deletionPolicy === 'Orphan' ? 'orphan with owner' : 'delete with owner', el('div', { class: 'sub' }, parts.join(' \u00B7 ')));
}
function deletionCell(g, lifecycle) {
  const next = g.insight && g.insight.nextDeletion;
  if (!next) return el('td', { class: 'time' }, el('span', { class: 'muted' }, lifecycle ? 'none planned' : '\u2014'));
  const due = Date.parse(next.time) <= now();
  return el('td', { class: 'time' }, due ? el('time', { datetime: next.time, title: exact(next.time) }, 'due now') : when(next.time),
    el('div', { class: 'sub' }, REASONS[next.reason] || next.reason));
}
function actionCell(g, adminApi) {
  if (!adminApi) return null;
  return el('td', { class: 'actions' }, el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete group ' + keyText(g.labels),
    'data-focus': 'delete:' + g.path, onclick: () => askDelete(g) }, 'Delete'));
}

// ---- expansion: the group's metric families ----
/** Table rows for one series: its value, or count and sum then one row per quantile or bucket. */
function seriesRows(name, labels, m) {
  const head = el('td', { class: 'series' }, name, labels.length ? '{' + labels.map(([k, v]) => k + '=' + quote(v)).join(',') + '}' : '');
  if (m.value !== undefined) return [el('tr', {}, head, el('td', { class: 'value' }, m.value))];
  if (Array.isArray(m.buckets)) return nativeRows(head, m);
  const rows = [el('tr', {}, head, el('td', { class: 'value' }, 'count ' + m.count + ' \u00B7 sum ' + m.sum))];
  const [label, parts] = m.quantiles ? ['quantile', m.quantiles] : ['le', m.buckets || {}];
  for (const [bound, v] of Object.entries(parts)) {
    rows.push(el('tr', { class: 'part' }, el('td', { class: 'series' }, label + '=' + quote(bound)), el('td', { class: 'value' }, v)));
  }
  return rows;
}
/** A native histogram: count, sum, schema and zero threshold, then one row per non-empty bucket. */
const OPEN = ['(', '[', '(', '['];
const CLOSE = [']', ')', ')', ']'];
function nativeRows(head, m) {
  const rows = [el('tr', {}, head, el('td', { class: 'value' }, 'count ' + m.count + ' \u00B7 sum ' + m.sum + ' \u00B7 native, schema ' + m.schema + ' \u00B7 zero threshold ' + m.zero_threshold))];
  for (const [rule, lower, upper, count] of m.buckets) {
    rows.push(el('tr', { class: 'part' }, el('td', { class: 'series' }, 'bucket ' + OPEN[rule] + lower + ', ' + upper + CLOSE[rule]), el('td', { class: 'value' }, count)));
  }
  if (m.buckets.length === 0) rows.push(el('tr', { class: 'part' }, el('td', { class: 'series muted' }, 'no observations'), el('td', {})));
  return rows;
}
function detailRow(g, i, columns) {
  const families = el('div', { class: 'families' });
  for (const f of g.families) {
    const meta = f.name === 'push_time_seconds' || f.name === 'push_failure_time_seconds';
    const lines = el('table', { class: 'samples' }, el('caption', { class: 'visually-hidden' }, 'Series of ' + f.name));
    for (const m of f.metrics) {
      // The grouping labels are on every series: show only the others.
      const extra = Object.entries(m.labels).filter(([k, v]) => (Object.hasOwn(g.labels, k) ? g.labels[k] !== v : !(k === 'instance' && v === '')));
      lines.append(...seriesRows(f.name, extra, m));
    }
    families.append(el('section', { class: meta ? 'family meta' : 'family' },
      el('h3', {}, f.name, ' ', el('span', { class: 'type' }, f.type.toLowerCase()), ' ', el('span', { class: 'sub' }, 'pushed ', when(f.time_stamp))),
      f.help ? el('p', { class: 'help' }, f.help) : null, lines));
  }
  const a = g.attribution;
  const facts = el('dl', { class: 'facts' });
  const fact = (k, v) => { if (v) facts.append(el('div', {}, el('dt', {}, k), el('dd', {}, v))); };
  fact('grouping key', keyText(g.labels));
  fact('series', String(g.series));
  fact('pushed by', [a.user, a.pod ? 'pod ' + a.pod : '', a.run ? a.run.kind + ' ' + a.run.name : '', a.schedule ? a.schedule.kind + ' ' + a.schedule.name : ''].filter(Boolean).join(' \u00B7 '));
  fact('owner', g.owner ? g.owner.kind + ' ' + g.owner.namespace + '/' + g.owner.name + ' (uid ' + g.owner.uid + ')' : '');
  fact('run', g.run ? g.run.kind + ' ' + g.run.namespace + '/' + g.run.name + scheduleText(g.run) + ' (uid ' + g.run.uid + ')' : '');
  fact('owner unknown', g.insight && g.insight.ownerUnknown ? g.insight.ownerUnknown : '');
  fact('left out of scrapes', g.excludedReason || '');
  return el('tr', { class: 'detail', id: 'detail-' + i, hidden: !state.expanded.has(g.path) },
    el('td', { colspan: columns }, facts, families));
}
function toggle(path, button, i) {
  const open = !state.expanded.has(path);
  if (open) state.expanded.add(path); else state.expanded.delete(path);
  button.setAttribute('aria-expanded', String(open));
  button.querySelector('.chev').textContent = open ? '\u25BE' : '\u25B8';
  $('detail-' + i).hidden = !open;
}

// ---- rendering ----
function render() {
  const doc = state.doc;
  if (!doc) return;
  const { groups, lifecycle, adminApi, kubernetes } = doc;
  $('col-actions').hidden = !adminApi;
  const columns = adminApi ? 8 : 7;
  const rows = [];
  const shown = groups.filter(matches);
  shown.forEach((g) => {
    const i = groups.indexOf(g);
    const overdue = !!(g.insight && g.insight.overdue);
    const cls = [overdue ? 'overdue' : '', !g.lastPushSuccessful ? 'failed' : '', g.insight && g.insight.ownerAlive === false ? 'gone' : ''].filter(Boolean).join(' ');
    rows.push(el('tr', { class: ('group ' + cls).trim(), 'data-path': g.path },
      keyCell(g, i), namespaceCell(g), ownerCell(g, kubernetes), pushCell(g), scrapeCell(g), policyCell(g, lifecycle), deletionCell(g, lifecycle), actionCell(g, adminApi)));
    rows.push(detailRow(g, i, columns));
  });
  if (shown.length === 0) {
    rows.push(el('tr', { class: 'empty' }, el('td', { colspan: columns }, groups.length === 0 ? 'No groups are stored. Push one as to a Pushgateway: PUT or POST to ' + location.origin + prefix + '/metrics/job/<job>.' : 'No group matches the filter.')));
  }
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focus : undefined;
  $('groups').replaceChildren(...rows);
  if (focused) {
    const again = [...document.querySelectorAll('[data-focus]')].find((e) => e.dataset.focus === focused);
    if (again) again.focus();
  }
  const overdue = groups.filter((g) => g.insight && g.insight.overdue).length;
  const failed = groups.filter((g) => !g.lastPushSuccessful).length;
  const counted = shown.length === groups.length ? groups.length + (groups.length === 1 ? ' group' : ' groups') : shown.length + ' of ' + groups.length + ' groups';
  $('summary').replaceChildren(counted,
    overdue ? badge('bad', overdue + ' overdue') : '', failed ? badge('warn', failed + ' failed push' + (failed === 1 ? '' : 'es')) : '',
    !lifecycle ? badge('info', 'standalone: no lifecycle information', 'Owner, policy and next deletion are shown when Lethe runs with its lifecycle')
      : !kubernetes ? badge('info', 'standalone: no owners', 'Lethe watches no cluster, so groups have no owner; only the ttl policy can delete them') : '',
    doc.blockedBy && doc.blockedBy.length > 0 ? badge('warn', 'deletions paused: ' + doc.blockedBy.join(', '), 'Lethe deletes nothing until its watches have synced, the API server is reachable and it holds the leader lease') : '');
}

/** Fetches the groups and renders them; a call during a fetch fetches once more after it. */
async function load() {
  if (state.loading) { state.again = true; return; }
  state.loading = true;
  state.again = false;
  try {
    const res = await fetch(prefix + '/api/v1/groups', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const body = await res.json();
    state.doc = body.data;
    state.skew = Date.parse(body.data.time) - Date.now();
    fillOptions(state.doc.groups);
    $('error').hidden = true;
    $('updated').replaceChildren('updated ', el('time', { datetime: body.data.time }, exact(body.data.time)));
    render();
  } catch (err) {
    $('error').hidden = false;
    $('error').textContent = 'Could not load the groups: ' + (err && err.message ? err.message : String(err));
  } finally {
    state.loading = false;
  }
  if (state.again) await load();
}

// ---- delete, with a confirmation ----
const dialog = $('confirm');
function askDelete(g) {
  state.pending = g;
  $('confirm-key').textContent = keyText(g.labels);
  $('confirm-series').textContent = g.series + ' series';
  dialog.returnValue = '';
  dialog.showModal();
}
$('confirm-cancel').addEventListener('click', () => dialog.close('cancel'));
$('confirm-delete').addEventListener('click', () => dialog.close('delete'));
dialog.addEventListener('close', async () => {
  const g = state.pending;
  state.pending = undefined;
  if (!g || dialog.returnValue !== 'delete') return;
  const status = $('status');
  try {
    const res = await fetch(prefix + '/' + g.path, { method: 'DELETE' });
    if (res.status !== 202 && res.status !== 200) throw new Error('HTTP ' + res.status + ': ' + (await res.text()).trim());
    state.expanded.delete(g.path);
    status.classList.remove('failed');
    status.textContent = 'Deleted group ' + keyText(g.labels) + '.';
  } catch (err) {
    status.classList.add('failed');
    status.textContent = 'Could not delete group ' + keyText(g.labels) + ': ' + (err && err.message ? err.message : String(err));
  }
  await load();
});

fNamespace.addEventListener('change', () => { saveFilters(); render(); });
fJob.addEventListener('input', () => { saveFilters(); render(); });
$('refresh').addEventListener('click', () => load());
setInterval(() => { if (!dialog.open && document.visibilityState === 'visible') load(); }, 30000);
load();
})();
`;
