// Live events as they are made durable (pushed, never polled), with filters by severity, type and
// device, a pause, and CSV export of what the filters show.
import { deviceEvent } from './devices.js';
import { t } from './i18n.js';
import { $, esc, td, timeEl } from './util.js';

const MAX = 500;
let events = [];
let paused = false;
let missed = 0;
const seen = { types: new Set(), devices: new Set() };

export function initEvents() {
  for (const id of ['fSeverity', 'fType', 'fDevice']) $(id).onchange = render;
  $('pause').onclick = () => {
    paused = !paused;
    $('pause').setAttribute('aria-pressed', String(paused));
    $('pause').textContent = t(paused ? 'events.resume' : 'events.pause');
    if (!paused) {
      missed = 0;
      render();
    }
    $('pausedNote').textContent = '';
  };
  $('csv').onclick = exportCsv;
}

export function addEvents(list, replace) {
  if (replace) events = [];
  for (const e of list || []) {
    events.push(e);
    if (!replace) deviceEvent(e);
    for (const [set, v, sel] of [
      [seen.types, e.type, 'fType'],
      [seen.devices, e.device, 'fDevice'],
    ]) {
      if (set.has(v)) continue;
      set.add(v);
      const o = document.createElement('option');
      o.value = v;
      o.textContent = sel === 'fType' ? t(`type.${v}`) : v;
      $(sel).append(o);
    }
  }
  if (events.length > MAX) events = events.slice(-MAX);
  if (paused) {
    missed += replace ? 0 : (list || []).length;
    $('pausedNote').textContent = t('events.missed', { n: missed });
    return;
  }
  render();
}

function filtered() {
  const sev = $('fSeverity').value;
  const type = $('fType').value;
  const dev = $('fDevice').value;
  return events.filter((e) => (!sev || e.severity === sev) && (!type || e.type === type) && (!dev || e.device === dev));
}

function render() {
  if (paused) return;
  $('events').tBodies[0].innerHTML = filtered()
    .slice(-200)
    .reverse()
    .map(
      (e) =>
        `<tr class="sev-${esc(e.severity)}">${td('col.time', timeEl(e.ts))}${td('col.severity', esc(t(`sev.${e.severity}`)))}${td('col.type', esc(t(`type.${e.type}`)) + (e.data?.test ? ` <span class="test">${esc(t('alarms.test'))}</span>` : ''))}${td('col.device', esc(e.data?.name || e.device))}${td('col.seq', e.seq)}</tr>`,
    )
    .join('');
}

/** A spreadsheet must not run a cell as a formula: such cells get a leading quote. */
function cell(v) {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function exportCsv() {
  const rows = [['ts', 'seq', 'severity', 'type', 'device', 'deviceType', 'test', 'walkTest', 'id']];
  for (const e of filtered())
    rows.push([
      e.ts,
      e.seq,
      e.severity,
      e.type,
      e.device,
      e.deviceType,
      e.data?.test === true,
      e.data?.walkTest || '',
      e.id,
    ]);
  const blob = new Blob([rows.map((r) => r.map(cell).join(',')).join('\r\n')], { type: 'text/csv' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `wardgate-events-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
