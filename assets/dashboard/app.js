// The live dashboard: one EventSource on /dashboard/events; each snapshot redraws the page.
// Every value from the hub is put in the page as text (textContent), never as markup.
import { LineChart } from './chart.js';

const $ = (id) => document.getElementById(id);

const rateChart = new LineChart($('chart-rates'), [
  { key: 'inPerSec', color: '#3fb950' },
  { key: 'outPerSec', color: '#58a6ff' },
], count);
const latencyChart = new LineChart($('chart-latency'), [
  { key: 'meanLatencyMs', color: '#d29922' },
  { key: 'p99StoreMs', color: '#f85149' },
], ms);

function count(n) {
  if (n === null || n === undefined) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}

function ms(n) {
  if (n === null || n === undefined) return '–';
  if (n === 0) return '0';
  if (n >= 1000) return `${(n / 1000).toFixed(1)} s`;
  return `${n >= 10 ? Math.round(n) : n.toFixed(1)} ms`;
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

function since(iso, nowMs) {
  if (!iso) return '–';
  return `${age(Math.max(0, (nowMs - Date.parse(iso)) / 1000))} ago`;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(id, rows, toCells, empty) {
  const body = $(id).tBodies[0];
  const trs = rows.map((row) => {
    const tr = document.createElement('tr');
    tr.append(...toCells(row));
    return tr;
  });
  if (trs.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(empty, 'empty');
    td.colSpan = $(id).tHead.rows[0].cells.length;
    tr.append(td);
    trs.push(tr);
  }
  body.replaceChildren(...trs);
}

function pairs(id, entries) {
  $(id).replaceChildren(...entries.map(([key, value]) => {
    const li = document.createElement('li');
    const b = document.createElement('b');
    b.textContent = value;
    li.append(key, b);
    return li;
  }));
}

const STATUS_CLASS = { running: 'ok', stopped: 'idle', backoff: 'warn', unhealthy: 'bad', failed: 'bad', dead: 'bad' };

function render(s) {
  $('device').textContent = s.device;
  $('version').textContent = `v${s.version}`;
  $('uptime').textContent = `up ${age(s.uptimeSec)}`;
  $('rate-in').textContent = count(s.rates.inPerSec);
  $('rate-out').textContent = count(s.rates.outPerSec);
  $('lat-mean').textContent = ms(s.rates.meanLatencyMs);
  $('lat-p99').textContent = ms(s.rates.p99StoreMs);
  rateChart.push({ atMs: s.atMs, ...s.rates });
  latencyChart.push({ atMs: s.atMs, ...s.rates });

  $('clients-total').textContent = String(s.clients.total);
  pairs('clients-protocols', Object.entries(s.clients.byProtocol).sort().map(([p, n]) => [p.toUpperCase(), String(n)]));
  $('clients-list').replaceChildren(...s.clients.identities.map((c) => {
    const li = document.createElement('li');
    li.textContent = `${c.identity} (${c.protocols.join(', ')})`;
    return li;
  }));

  const t = s.totals;
  pairs('totals', [['received', count(t.received)], ['delivered', count(t.delivered)], ['no route', count(t.noRoute)], ['expired', count(t.expired)], ['dropped', count(t.dropped)], ['refused', count(t.refused)]]);
  const d = s.disk;
  $('disk').textContent = d.persistent
    ? `store ${bytes(d.storeBytes)} · ${bytes(d.availableBytes)} free of ${bytes(d.totalBytes)} on ${d.mountPoint ?? '?'}`
    : 'store in memory';
  const used = d.totalBytes ? 1 - d.availableBytes / d.totalBytes : 0;
  $('disk-bar').style.width = `${Math.round(used * 100)}%`;
  $('disk-bar').className = used > 0.9 ? 'bad' : '';

  $('deployment').textContent = s.modules.available ? `deployment ${s.modules.deployment}` : 'no agent answers';
  fillTable('modules', s.modules.rows, (m) => [
    cell(m.name),
    cell(m.desired),
    cell(m.runtimeStatus, `status ${STATUS_CLASS[m.runtimeStatus] ?? 'idle'}`),
    cell(String(m.restartCount)),
    cell(m.exitCode === null ? '–' : String(m.exitCode)),
    Object.assign(cell(since(m.startedAt, s.atMs)), { title: m.startedAt ?? '' }),
    cell(m.starts === null ? '–' : String(m.starts)),
    cell(m.description),
  ], s.modules.available ? 'no modules deployed' : 'the agent does not answer');

  fillTable('routes', s.routes, (r) => [cell(r.name), cell(r.source), cell(r.condition), cell(r.endpoint), cell(r.priority === null ? 'default' : String(r.priority)), cell(count(r.moved))], 'no routes');
  $('rejected').replaceChildren(...s.rejectedRoutes.map((r) => {
    const li = document.createElement('li');
    li.textContent = `route ${r.name} rejected: ${r.error}`;
    return li;
  }));
  fillTable('endpoints', s.endpoints, (e) => [cell(e.endpoint), cell(count(e.queued)), cell(bytes(e.bytes)), cell(e.oldestAgeSec === null ? '–' : age(e.oldestAgeSec))], 'no queues');
}

function live(state, text) {
  $('live').textContent = text;
  $('live').className = `badge ${state}`;
}

const events = new EventSource('/dashboard/events');
events.addEventListener('open', () => live('ok', 'live'));
events.addEventListener('history', (e) => {
  const points = JSON.parse(e.data);
  rateChart.setHistory(points);
  latencyChart.setHistory(points);
});
events.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
events.addEventListener('error', async () => {
  live('warn', 'reconnecting');
  // A session that expired (or a rotated token) is not something a reconnect fixes.
  const probe = await fetch('/dashboard/index.html', { method: 'GET', credentials: 'same-origin', cache: 'no-store' }).catch(() => undefined);
  if (probe && probe.status === 401) {
    events.close();
    live('bad', 'signed out');
    location.replace('/dashboard');
  }
});

$('sign-out').addEventListener('click', async () => {
  events.close();
  await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin' });
  location.replace('/dashboard');
});
