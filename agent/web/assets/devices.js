// Devices by name and location, with a human-readable state for the types this page knows and a
// generic one for the rest (doors, cameras, UPS as other issues add them: a model may give its own
// `headline`); availability, since when, the last error code linked to its entry; a device page
// with recent events, raw state (kept open across updates) and "probe now" where offered.
import { api } from './api.js';
import { currentLang, t } from './i18n.js';
import { renderOutputs } from './overview.js';
import { $, badge, codeLink, esc, td, timeEl } from './util.js';

const devices = new Map();
let selected = null;
let sim = false;

export function setDevices(list, outputs) {
  for (const d of list || []) devices.set(d.id, d);
  if (outputs) renderOutputs(outputs);
  if (selected && (list || []).some((d) => d.id === selected)) renderDevice();
}

function headline(x) {
  const st = x.state || {};
  const parts = [];
  if (x.type === 'panic-button') {
    parts.push(
      st.pressed
        ? `${badge('bad', t('dev.pressed'))} ${esc(t('since'))} ${timeEl(st.pressedSince)}`
        : esc(t('dev.idle')),
    );
    if (st.tamper?.active) parts.push(badge('bad', t('dev.tamper')));
    if (st.led?.on) parts.push(`<span class="led">${esc(t('alarms.ledOn'))}</span>`);
  } else if (x.type === 'fire-panel') {
    parts.push(
      st.alarm
        ? `${badge('bad', t('dev.fireAlarm'))} ${esc(t('since'))} ${timeEl(st.alarmSince)}`
        : esc(t('dev.noAlarm')),
    );
    if (st.fault) parts.push(badge('warn', t('dev.fault')));
  } else if (x.type === 'input') {
    const ev = st.events || {};
    parts.push(
      st.active
        ? `${badge('warn', t(`type.${ev.active}`))} ${esc(t('since'))} ${timeEl(st.activeSince)}`
        : esc(t(`type.${ev.inactive}`)),
    );
  } else if (x.type === 'door') {
    if (st.forced) parts.push(badge('bad', t('dev.forced')));
    if (st.heldOpen) parts.push(badge('warn', t('dev.heldOpen')));
    parts.push(
      st.open
        ? `${esc(t('dev.open'))} ${esc(t('since'))} ${timeEl(st.openSince)}`
        : esc(t(st.open === false ? 'dev.closed' : 'dev.unknown')),
    );
    if (st.locked !== null && st.locked !== undefined) parts.push(esc(t(st.locked ? 'dev.locked' : 'dev.unlocked')));
    if (st.controller?.online === false) parts.push(badge('bad', t('dev.controllerOffline')));
  } else if (x.type === 'camera') {
    parts.push(`${esc(st.status || '–')}${st.covers ? ` · ${esc(t('dev.covers'))} ${esc(st.covers)}` : ''}`);
    if (st.imageStale) parts.push(badge('bad', t('dev.imageStale')));
    if (st.clockDrift) parts.push(badge('warn', t('dev.clockDrift', { sec: st.clockDriftSec ?? '?' })));
  } else if (x.type === 'ups') {
    parts.push(
      st.power === 'battery'
        ? badge('bad', t('dev.onBattery'))
        : esc(t(st.power === 'mains' ? 'dev.onMains' : 'dev.unknown')),
    );
    if (st.lowBattery) parts.push(badge('bad', t('dev.lowBattery')));
    if (st.chargePercent != null) parts.push(esc(t('dev.charge', { pct: st.chargePercent })));
  } else if (typeof (x.headline ?? st.headline) === 'string') {
    parts.push(esc(x.headline ?? st.headline));
  } else {
    // Unknown type: its first few plain values, readable enough until it brings a headline.
    const plain = Object.entries(st).filter(
      ([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v),
    );
    parts.push(
      plain
        .slice(0, 3)
        .map(([k, v]) => `${esc(k)}: ${esc(v)}`)
        .join(', ') || '–',
    );
  }
  const chatter = Object.entries(st.inputs || {})
    .filter(([, i]) => i?.chatter)
    .map(([n]) => n);
  if (chatter.length) parts.push(badge('bad', t('dev.chatter', { inputs: chatter.join(', ') })));
  return parts.join(' · ');
}

function lastErrorCode(x) {
  const st = x.state || {};
  return (
    x.lastError?.code ||
    x.lastErrorCode ||
    st.lastError?.code ||
    st.lastErrorCode ||
    /WG_ERR_[A-Z_]+/.exec(x.availabilityReason || '')?.[0] ||
    null
  );
}

function availability(x) {
  const code = lastErrorCode(x);
  const base =
    x.availability === 'online'
      ? badge('ok', t('dev.online'))
      : `${badge('bad', t('dev.offline'))} ${esc(x.availabilityReason || '')}`;
  return `${base}<br><small>${esc(t('since'))} ${timeEl(x.lastSeen || x.state?.lastSeen || x.since)}</small>${code ? `<br>${codeLink(code)}` : ''}`;
}

const simButtons = (x) =>
  (x.inputs || [])
    .map(
      (i) =>
        `<span class="nowrap">${esc(i)} <button type="button" data-d="${esc(x.id)}" data-i="${esc(i)}" data-a="1">${esc(t('sim.on'))}</button><button type="button" data-d="${esc(x.id)}" data-i="${esc(i)}" data-a="0">${esc(t('sim.off'))}</button></span>`,
    )
    .join(' ');

export function renderDeviceList(overview) {
  sim = overview?.status?.gpioBackend === 'sim';
  const list = [...devices.values()].sort(
    (a, b) =>
      String(a.location || '').localeCompare(String(b.location || '')) ||
      String(a.name || a.id).localeCompare(String(b.name || b.id)),
  );
  const cells = (x) => [
    td(
      'col.device',
      `<a href="?device=${encodeURIComponent(x.id)}" data-open="${esc(x.id)}">${esc(x.name || x.id)}</a><br><small>${esc(x.location || '')}${x.location ? ' · ' : ''}${esc(t(`devtype.${x.type}`))} · ${esc(x.id)}</small>`,
    ),
    td('col.state', headline(x)),
    td('col.availability', availability(x)),
    td('col.simulate', sim ? simButtons(x) : '–'),
  ];
  const body = $('devices').tBodies[0];
  const key = `${currentLang()} ${sim} ${list.map((x) => x.id).join(' ')}`;
  if (body.dataset.key !== key) {
    body.dataset.key = key;
    body.innerHTML = list.map((x) => `<tr data-device="${esc(x.id)}">${cells(x).join('')}</tr>`).join('');
    return;
  }
  // Same rows: only the state and availability cells change, so a focused sim button keeps its focus.
  list.forEach((x, i) => {
    const row = body.rows[i];
    const [, state, avail] = cells(x);
    for (const [cell, html] of [
      [row.cells[1], state],
      [row.cells[2], avail],
    ])
      if (cell.outerHTML !== html) cell.outerHTML = html;
  });
}

export async function onSim(ev) {
  const open = ev.target.closest('a[data-open]');
  if (open) {
    ev.preventDefault();
    history.replaceState(null, '', `?device=${encodeURIComponent(open.dataset.open)}`);
    return showDevice(open.dataset.open);
  }
  const b = ev.target.closest('button[data-d]');
  if (!b) return;
  try {
    await api(`/api/sim/${encodeURIComponent(b.dataset.d)}/${encodeURIComponent(b.dataset.i)}`, {
      method: 'POST',
      body: { active: b.dataset.a === '1' },
    });
  } catch (e) {
    $('simMsg')?.remove();
    b.insertAdjacentHTML(
      'afterend',
      `<span id="simMsg" role="alert" class="bad">${esc(e.code || '')} ${esc(e.message)}</span>`,
    );
  }
}

let history_ = [];

export async function showDevice(id) {
  selected = id;
  const r = await api(`/api/devices/${encodeURIComponent(id)}`);
  devices.set(id, r.device);
  history_ = r.events;
  const box = $('device');
  box.hidden = false;
  box.innerHTML = `<h2 id="devTitle"></h2><p id="devHead"></p>
<div id="devProbe"></div>
<h3>${esc(t('dev.recent'))}</h3><table class="cards" id="devEvents"><thead><tr><th>${esc(t('col.time'))}</th><th>${esc(t('col.type'))}</th><th>${esc(t('col.severity'))}</th><th>${esc(t('col.seq'))}</th></tr></thead><tbody></tbody></table>
<details id="devRaw"><summary>${esc(t('dev.raw'))}</summary><pre class="wrap" id="devRawText"></pre></details>`;
  renderDevice();
  box.scrollIntoView({ block: 'nearest' });
}

/** Updates the device page in place: an opened "raw state" stays open (it closed on every refresh). */
function renderDevice() {
  const d = devices.get(selected);
  if (!d || !$('devTitle')) return;
  $('devTitle').textContent = d.name || d.id;
  $('devHead').innerHTML =
    `${esc(d.location || '')} · ${esc(t(`devtype.${d.type}`))}<br>${headline(d)}<br>${availability(d)}`;
  $('devRawText').textContent = JSON.stringify(d.state, null, 2);
  $('devProbe').innerHTML = d.canProbe
    ? `<button type="button" id="probeBtn">${esc(t('dev.probe'))}</button><pre class="wrap" id="probeOut"></pre>`
    : '';
  if (d.canProbe)
    $('probeBtn').onclick = async () => {
      try {
        const r = await api(`/api/devices/${encodeURIComponent(d.id)}/probe`, { method: 'POST' });
        $('probeOut').textContent = JSON.stringify(r.answer, null, 2);
      } catch (e) {
        $('probeOut').textContent = `${e.code || ''} ${e.message}`;
      }
    };
  $('devEvents').tBodies[0].innerHTML = history_
    .map(
      (e) =>
        `<tr>${td('col.time', timeEl(e.ts))}${td('col.type', esc(t(`type.${e.type}`)) + (e.data?.test ? ` <span class="test">${esc(t('alarms.test'))}</span>` : ''))}${td('col.severity', esc(t(`sev.${e.severity}`)))}${td('col.seq', e.seq)}</tr>`,
    )
    .join('');
}

/** A live event of the device on display joins its recent events. */
export function deviceEvent(e) {
  if (e.device !== selected) return;
  history_.unshift(e);
  if (history_.length > 30) history_.pop();
  renderDevice();
}
