// The running configuration with secrets redacted, and a read-only check of an uploaded file.
import { api } from './api.js';
import { t } from './i18n.js';
import { $, esc } from './util.js';

export function initConfig() {
  $('configFile').onchange = async () => {
    const f = $('configFile').files[0];
    if (!f) return;
    const out = $('checkResult');
    try {
      const r = await api('/api/config/check', { method: 'POST', body: await f.text() });
      out.innerHTML = r.ok
        ? `<p class="ok">${esc(t('config.valid', { gateway: r.gateway, devices: r.devices }))}</p>${r.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('')}`
        : `<p class="bad">${esc(t('config.invalid', { n: r.problems.length }))}</p><ul>${r.problems.map((p) => `<li><code class="wrap">${esc(p)}</code></li>`).join('')}</ul>`;
    } catch (e) {
      out.innerHTML = `<p class="bad">${esc(e.code || '')} ${esc(e.message)}</p>`;
    }
  };
}

export async function showConfig() {
  try {
    const r = await api('/api/config');
    $('configText').textContent = JSON.stringify(r.config, null, 2);
  } catch (e) {
    $('configText').textContent = `${e.code || ''} ${e.message}`;
  }
}
