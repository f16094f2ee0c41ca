// The technician's page: one self-contained HTML file (no build step, no external assets: the box
// may have no route to the internet). It holds no data itself; it calls the API with a token.
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>wardgate</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2430}
header{background:#1d2430;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0} main{padding:16px;display:grid;gap:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eee}
.ok{color:#137333;font-weight:600}.bad{color:#b3261e;font-weight:600}.warn{color:#a15c00;font-weight:600}
button{padding:4px 10px;margin-right:4px} #login{display:flex;gap:8px} code{background:#eef;padding:1px 4px}
</style></head><body>
<header><h1>wardgate</h1><span id="gw"></span><span id="link"></span></header>
<main>
<section id="login"><label>Access token <input id="token" type="password" size="40" autocomplete="off"></label><button id="save">Sign in</button><span id="loginMsg"></span></section>
<section><h2>Uplink</h2><div id="uplink">–</div></section>
<section><h2>Outbox</h2><table id="outbox"><thead><tr><th>lane</th><th>queued</th><th>bytes</th><th>oldest</th><th>refused</th></tr></thead><tbody></tbody></table><div id="outboxNote"></div></section>
<section><h2>Outputs</h2><table id="outputs"><thead><tr><th>output</th><th>line</th><th>state</th><th>last change</th><th>error</th></tr></thead><tbody></tbody></table></section>
<section><h2>Devices</h2><table id="devices"><thead><tr><th>device</th><th>type</th><th>availability</th><th>state</th><th>simulate</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
let token = (location.hash.match(/token=([^&]+)/) || [])[1] || sessionStorage.getItem('wgToken') || '';
if (location.hash) { sessionStorage.setItem('wgToken', token); history.replaceState(null, '', location.pathname); }
$('save').onclick = () => { token = $('token').value.trim(); sessionStorage.setItem('wgToken', token); refresh(); };
async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), authorization: 'Bearer ' + token, 'content-type': 'application/json' } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.code + ': ' + body.error.message) || r.statusText);
  return body;
}
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const hhmm = (iso) => iso ? new Date(iso).toLocaleTimeString() : '';
// One line a technician can read at a glance; the full state is under "details".
function headline(x) {
  const st = x.state || {};
  const chatter = Object.entries(st.inputs || {}).filter(([, i]) => i && i.chatter).map(([n]) => n);
  const parts = [];
  if (x.type === 'panic-button') {
    parts.push(st.pressed ? '<span class="bad">PRESSED</span> since ' + hhmm(st.pressedSince) : 'idle');
    if (st.acknowledgedAt) parts.push('acknowledged ' + hhmm(st.acknowledgedAt));
    if (st.tamper && st.tamper.active) parts.push('<span class="bad">TAMPER</span>');
  } else if (x.type === 'fire-panel') {
    parts.push(st.alarm ? '<span class="bad">FIRE ALARM</span> since ' + hhmm(st.alarmSince) : 'no alarm');
    if (st.fault) parts.push('<span class="warn">FAULT</span>');
  } else if (x.type === 'input') {
    const ev = st.events || {};
    parts.push(st.active ? '<span class="warn">' + esc(ev.active || 'active') + '</span> since ' + hhmm(st.activeSince) : esc(ev.inactive || 'inactive'));
  }
  if (chatter.length) parts.push('<span class="bad">CHATTER on ' + esc(chatter.join(', ')) + '</span>');
  return '<div>' + parts.join(' · ') + '</div>';
}
const age = (ms) => ms == null ? '–' : ms < 1000 ? ms + ' ms' : ms < 120000 ? Math.round(ms / 1000) + ' s' : Math.round(ms / 60000) + ' min';
async function refresh() {
  try {
    const s = await api('/api/status');
    $('login').style.display = 'none';
    $('gw').textContent = s.gateway + ' @ ' + s.site + ' · v' + s.version + ' · last seq ' + s.lastSeq;
    const u = s.uplink;
    $('link').innerHTML = u.sessionTakenOver ? '<span class="bad">session taken over: another box uses this gateway.id</span>'
      : u.connected ? '<span class="ok">online</span>' : '<span class="bad">broker unreachable</span>';
    $('uplink').innerHTML = (u.connected ? '<span class="ok">connected</span> to <code>' + esc(u.broker) + '</code> (MQTT ' + (u.protocolVersion === 5 ? '5' : '3.1.1') + ')'
      : '<span class="bad">disconnected</span>') +
      (u.lastErrorCode ? '<br><span class="' + (u.sessionTakenOver ? 'bad' : 'warn') + '">' + esc(u.lastErrorCode) + ': ' + esc(u.lastError || '') + '</span>' + (u.hint ? '<br><small>' + esc(u.hint) + '</small>' : '') : '') +
      '<br>last connected: ' + (u.lastConnectedAt ? new Date(u.lastConnectedAt).toLocaleString() : 'never') +
      ' · connects ' + u.connects + ' · failures ' + u.connectFailures + ' · in flight ' + s.outbox.inflight +
      ' · clock ' + (s.clock.synced ? '<span class="ok">synced</span>' : '<span class="warn">NOT synced</span>');
    $('outbox').tBodies[0].innerHTML = s.outbox.lanes.map((l) => '<tr><td>' + l.lane + '</td><td>' + l.depth + '</td><td>' + l.bytes + '</td><td>' + age(l.oldestAgeMs) + '</td><td>' + (l.refused ? '<span class="' + (l.lane === 'critical' ? 'bad' : 'warn') + '">' + l.refused + '</span>' : '0') + '</td></tr>').join('');
    const rf = s.outbox.refused;
    $('outboxNote').innerHTML = (rf.topics || []).map((t) => '<span class="' + (t.critical ? 'bad' : 'warn') + '">' + (t.critical ? 'CRITICAL ALARM REFUSED BY THE BROKER' : 'broker refuses events') + ' on <code>' + esc(t.topic) + '</code>: ' + esc(t.reason) + ' (0x' + t.reasonCode.toString(16) + ', ' + rf.code + ') since ' + esc(t.since) + ' — kept and retried; fix the broker ACL</span><br>').join('') +
      (rf.rows && !(rf.topics || []).length ? '<span class="' + (rf.critical ? 'bad' : 'warn') + '">' + rf.rows + ' refused rows kept, retried at the next round</span><br>' : '') +
      (s.outbox.diskLow ? '<span class="bad">DISK FULL: ' + s.outbox.heldInMemory + ' events held in memory (' + esc(s.outbox.diskLow.error) + ')</span><br>' : '') +
      (s.outbox.alarmsOverCap ? '<span class="bad">OUTBOX OVER ITS CAP WITH ALARMS ONLY: all kept; free disk or raise outbox.maxBytes</span><br>' : '') +
      (s.outbox.evictedTotal ? '<span class="warn">' + s.outbox.evictedTotal + ' telemetry events evicted (cap, age, or dropped while the disk was full)</span><br>' : '') +
      (s.outbox.quarantined ? '<span class="warn">outbox database was quarantined to ' + esc(s.outbox.quarantined.movedTo) + '</span>' : '');
    const d = await api('/api/devices');
    const sim = s.gpioBackend === 'sim';
    const simButtons = (x) => (x.inputs || []).map((i) => '<span style="white-space:nowrap">' + esc(i) + ' <button data-d="' + esc(x.id) + '" data-i="' + esc(i) + '" data-a="1">on</button><button data-d="' + esc(x.id) + '" data-i="' + esc(i) + '" data-a="0">off</button></span>').join('<br>');
    $('devices').tBodies[0].innerHTML = d.devices.map((x) => '<tr><td>' + esc(x.id) + (x.location ? '<br><small>' + esc(x.location) + '</small>' : '') + '</td><td>' + x.type + '</td><td>' +
      (x.availability === 'online' ? '<span class="ok">online</span>' : '<span class="bad">offline</span> ' + esc(x.availabilityReason || '')) + '</td><td>' + headline(x) + '<details><summary>details</summary><code>' + esc(JSON.stringify(x.state)) + '</code></details></td><td>' +
      (sim ? simButtons(x) : '–') + '</td></tr>').join('');
    const o = await api('/api/outputs');
    $('outputs').tBodies[0].innerHTML = o.outputs.map((x) => '<tr><td>' + esc(x.id) + (x.name ? '<br><small>' + esc(x.name) + '</small>' : '') + '</td><td>' + esc(x.line) + '</td><td>' +
      (x.active ? '<span class="warn">ON</span>' : 'off') + '</td><td>' + (x.lastChange ? esc(x.lastChange) + (x.by ? ' (' + esc(x.by) + ')' : '') : '–') + '</td><td>' +
      (x.lastError ? '<span class="bad">' + esc(x.lastError.code + ': ' + x.lastError.message) + '</span>' : '') + '</td></tr>').join('') || '<tr><td colspan="5">none configured</td></tr>';
  } catch (e) {
    $('login').style.display = 'flex';
    $('loginMsg').textContent = String(e.message || e);
  }
}
$('devices').onclick = async (ev) => {
  const b = ev.target.closest('button'); if (!b) return;
  try { await api('/api/sim/' + encodeURIComponent(b.dataset.d) + '/' + encodeURIComponent(b.dataset.i), { method: 'POST', body: JSON.stringify({ active: b.dataset.a === '1' }) }); }
  catch (e) { alert(e.message); }
  refresh();
};
refresh(); setInterval(refresh, 2000);
</script></body></html>`;
