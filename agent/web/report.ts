// A finished walk test as a printable HTML report (site, ward, technician, each device pass/fail
// with times, signature lines) and as CSV. The HTML is self-contained (it is downloaded and
// printed later, maybe on another machine): inline style, no script.
import type { WalkTestRun } from '../walktest.js';

type T = (key: string, vars?: Record<string, string | number>) => string;

const esc = (s: unknown) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** The CSP of the report: no script at all, its own inline style only. */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `body{font:12pt system-ui,sans-serif;margin:2em;color:#000}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #444;padding:4px 6px;text-align:left;vertical-align:top}.pass{color:#0a5c1f;font-weight:700}
.fail{color:#a00;font-weight:700}.sig{display:flex;gap:3em;margin-top:3em}.sig div{flex:1;border-top:1px solid #000;padding-top:4px}
@media print{body{margin:0}}`;

export function reportHtml(run: WalkTestRun, t: T, lang: string): string {
  const when = (iso: string | null) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '–');
  const rows = run.devices
    .map((d) => {
      const ok = d.activations.length > 0;
      const times = d.activations.map((a) => `${esc(when(a.ts))} ${esc(a.type)}`).join('<br>');
      return `<tr><td>${esc(d.name ?? d.id)}<br><small>${esc(d.id)}</small></td><td>${esc(d.location ?? '')}</td><td>${esc(d.type)}</td><td class="${ok ? 'pass' : 'fail'}">${esc(ok ? t('wt.pass') : t('wt.fail'))}</td><td>${times || '–'}</td></tr>`;
    })
    .join('\n');
  const passed = run.devices.filter((d) => d.activations.length > 0).length;
  return `<!doctype html><html lang="${esc(lang)}"><head><meta charset="utf-8"><title>${esc(t('report.title'))} ${esc(run.site)} ${esc(run.ward)}</title><style>${STYLE}</style></head><body>
<h1>${esc(t('report.title'))}</h1>
<table><tbody>
<tr><th>${esc(t('report.site'))}</th><td>${esc(run.site)}</td><th>${esc(t('report.gateway'))}</th><td>${esc(run.gateway)}</td></tr>
<tr><th>${esc(t('report.ward'))}</th><td>${esc(run.ward)}</td><th>${esc(t('report.technician'))}</th><td>${esc(run.technician)}</td></tr>
<tr><th>${esc(t('report.started'))}</th><td>${esc(when(run.startedAt))} UTC</td><th>${esc(t('report.finished'))}</th><td>${esc(when(run.finishedAt))} UTC</td></tr>
<tr><th>${esc(t('report.result'))}</th><td colspan="3">${esc(t('report.passedOf', { passed, total: run.devices.length }))}</td></tr>
</tbody></table>
<h2>${esc(t('report.devices'))}</h2>
<table><thead><tr><th>${esc(t('col.device'))}</th><th>${esc(t('col.location'))}</th><th>${esc(t('col.type'))}</th><th>${esc(t('report.result'))}</th><th>${esc(t('report.activations'))} (UTC)</th></tr></thead><tbody>
${rows}
</tbody></table>
<p><small>${esc(t('report.id'))}: ${esc(run.id)}</small></p>
<div class="sig"><div>${esc(t('report.sigTechnician'))}</div><div>${esc(t('report.sigManager'))}</div><div>${esc(t('report.date'))}</div></div>
</body></html>`;
}

/** A spreadsheet must not run a cell as a formula (CSV injection): such cells get a leading quote. */
export function csvCell(v: unknown): string {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(cells: unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function reportCsv(run: WalkTestRun): string {
  let out = csvLine(['walkTest', 'site', 'ward', 'gateway', 'technician', 'startedAt', 'finishedAt']);
  out += csvLine([run.id, run.site, run.ward, run.gateway, run.technician, run.startedAt, run.finishedAt ?? '']);
  out += csvLine([]);
  out += csvLine(['device', 'name', 'location', 'type', 'result', 'activationTs', 'activationType', 'seq']);
  for (const d of run.devices) {
    const result = d.activations.length > 0 ? 'pass' : 'fail';
    if (d.activations.length === 0) out += csvLine([d.id, d.name, d.location, d.type, result, '', '', '']);
    for (const a of d.activations) out += csvLine([d.id, d.name, d.location, d.type, result, a.ts, a.type, a.seq]);
  }
  return out;
}
