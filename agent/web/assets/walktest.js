// Walk test: choose devices (all by default), start; each activation shows a tick with its time as
// it is pushed; devices not yet activated are listed; finish stores it on the box, with a printable
// report and a CSV.
import { api } from './api.js';
import { currentLang, t } from './i18n.js';
import { $, badge, esc, td, timeEl } from './util.js';

let userOf = () => '';
let active = null;

export function initWalkTest(user) {
  userOf = user;
  $('wtForm').onsubmit = start;
  $('wtFinish').onclick = finish;
}

async function start(ev) {
  ev.preventDefault();
  const devices = [...$('wtDevices').querySelectorAll('input:checked')].map((c) => c.value);
  try {
    active = await api('/api/walktests', {
      method: 'POST',
      body: { devices, technician: $('wtTech').value.trim(), ward: $('wtWard').value.trim() },
    });
    render();
  } catch (e) {
    $('wtSummary').textContent = `${e.code || ''} ${e.message}`;
  }
}

async function finish() {
  try {
    await api('/api/walktests/finish', { method: 'POST' });
  } finally {
    active = null;
    await showWalkTests();
  }
}

/** A pushed update of the running test (or a hint to re-read it). */
export function onWalkTest(run) {
  if (run === undefined) return;
  if (run === null) return void showWalkTests();
  active = run;
  render();
}

export async function showWalkTests() {
  const [w, d] = await Promise.all([api('/api/walktests'), api('/api/devices')]);
  active = w.active;
  if (!$('wtTech').value) $('wtTech').value = userOf() === 'token' ? '' : userOf() || '';
  if (!$('wtDevices').children.length)
    $('wtDevices').innerHTML = d.devices
      .map(
        (x) =>
          `<label class="check"><input type="checkbox" value="${esc(x.id)}" checked> ${esc(x.name || x.id)}${x.location ? ` <small>${esc(x.location)}</small>` : ''}</label>`,
      )
      .join('');
  const lang = encodeURIComponent(currentLang());
  $('wtStored').tBodies[0].innerHTML =
    w.stored
      .map(
        (s) =>
          `<tr>${td('wt.started', timeEl(s.startedAt))}${td('wt.result', esc(t('report.passedOf', { passed: s.passed, total: s.devices })))}${td('wt.report', `<a href="/api/walktests/${esc(s.id)}/report.html?lang=${lang}" download>${esc(t('wt.html'))}</a> · <a href="/api/walktests/${esc(s.id)}/report.csv" download>CSV</a>`)}</tr>`,
      )
      .join('') || `<tr>${td('wt.started', esc(t('wt.noneStored')))}</tr>`;
  render();
}

function render() {
  $('wtStart').hidden = active !== null;
  $('wtActive').hidden = active === null;
  if (!active) return;
  const done = active.devices.filter((d) => d.activations.length > 0);
  $('wtSummary').innerHTML =
    `${esc(t('wt.summary', { passed: done.length, total: active.devices.length }))} · ${esc(t('wt.startedAt'))} ${timeEl(active.startedAt)} · ${esc(active.technician)} · ${esc(active.ward)}`;
  $('wtTable').tBodies[0].innerHTML = active.devices
    .map((d) => {
      const ok = d.activations.length > 0;
      const times = d.activations.map((a) => `${timeEl(a.ts)} ${esc(t(`type.${a.type}`))}`).join('<br>');
      return `<tr data-wt="${esc(d.id)}">${td('col.device', `${esc(d.name || d.id)}<br><small>${esc(d.location || '')}</small>`)}${td('wt.result', ok ? `<span class="tick" aria-label="${esc(t('wt.pass'))}">✓</span>` : badge('muted', t('wt.waiting')))}${td('wt.times', times || '–')}</tr>`;
    })
    .join('');
  $('wtPending').innerHTML =
    active.devices
      .filter((d) => d.activations.length === 0)
      .map((d) => `<li>${esc(d.name || d.id)}${d.location ? ` · ${esc(d.location)}` : ''}</li>`)
      .join('') || `<li>${esc(t('wt.allDone'))}</li>`;
}
