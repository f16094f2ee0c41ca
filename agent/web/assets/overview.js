// The overview: active alarms first (always at the top of the page), then uplink, outbox per lane
// with its depth over the last hours, the box (clock, disk), outputs.
import { t } from './i18n.js';
import { $, age, badge, bytes, codeLink, esc, setHtml, td, timeEl } from './util.js';

const LANES = ['critical', 'high', 'normal', 'low'];

export function renderAlarms(alarms) {
  const box = $('alarms');
  $('alarmsBox').classList.toggle('has-alarms', alarms.length > 0);
  if (alarms.length === 0) {
    setHtml(box, `<p class="ok">${esc(t('alarms.none'))}</p>`);
    return;
  }
  setHtml(
    box,
    `<ul class="alarms">${alarms
      .map((a) => {
        const led = a.localLed?.on ? `<span class="led">${esc(t('alarms.ledOn'))}</span>` : '';
        const cr = a.controlRoom
          ? `<span class="ok">${esc(t('alarms.ackBy', { by: a.controlRoom.by }))} ${timeEl(a.controlRoom.at)}</span>`
          : `<span class="warn">${esc(t('alarms.notAcked'))}</span>`;
        return `<li class="alarm sev-${esc(a.severity)}" data-alarm="${esc(a.id)}">
<strong>${esc(t(`type.${a.type}`))}</strong>${a.test ? ` <span class="test">${esc(t('alarms.test'))}</span>` : ''}
<span class="where">${esc(a.name || a.device)}${a.location ? ` · ${esc(a.location)}` : ''}</span>
<span>${esc(t('alarms.since'))} ${timeEl(a.since)}</span> ${cr} ${led}</li>`;
      })
      .join('')}</ul>`,
  );
}

function uplinkHtml(s) {
  const u = s.uplink;
  const rows = [
    u.connected
      ? `${badge('ok', t('uplink.connected'))} ${esc(t('uplink.to'))} <code>${esc(u.broker)}</code> (MQTT ${u.protocolVersion === 5 ? '5' : '3.1.1'})`
      : badge('bad', t('uplink.disconnected')),
  ];
  if (u.lastErrorCode)
    rows.push(
      `<span class="${u.sessionTakenOver ? 'bad' : 'warn'}">${codeLink(u.lastErrorCode)}: ${esc(u.lastError || '')}</span>` +
        (u.hint ? `<br><small>${esc(u.hint)}</small>` : ''),
    );
  rows.push(
    `${esc(t('uplink.since'))}: ${u.lastConnectedAt ? timeEl(new Date(u.lastConnectedAt).toISOString()) : esc(t('never'))}` +
      ` · ${esc(t('uplink.lastAck'))}: ${s.web?.lastAckSeenAt ? timeEl(s.web.lastAckSeenAt) : '–'}` +
      ` · ${esc(t('uplink.reconnects'))}: ${u.connects} · ${esc(t('uplink.failures'))}: ${u.connectFailures}` +
      ` · ${esc(t('uplink.inflight'))}: ${s.outbox.inflight}`,
  );
  const rf = s.outbox.refused;
  if (rf.rows || rf.refusedTotal)
    rows.push(
      `<span class="${rf.critical ? 'bad' : 'warn'}">${esc(t('uplink.refused', { rows: rf.rows, total: rf.refusedTotal }))}</span>`,
    );
  return rows.map((r) => `<div>${r}</div>`).join('');
}

function outboxNote(o) {
  const notes = [];
  for (const x of o.refused.topics || [])
    notes.push(
      `<span class="${x.critical ? 'bad' : 'warn'}">${esc(t(x.critical ? 'outbox.refusedCritical' : 'outbox.refusedTopic'))} <code>${esc(x.topic)}</code>: ${esc(x.reason)} (0x${Number(x.reasonCode).toString(16)}, ${codeLink(o.refused.code || 'WG_ERR_UPLINK_PUBLISH_REFUSED')}) ${timeEl(x.since)}</span>`,
    );
  if (o.diskLow)
    notes.push(
      `<span class="bad">${esc(t('outbox.diskFull', { n: o.heldInMemory }))} (${esc(o.diskLow.error)})</span>`,
    );
  if (o.alarmsOverCap) notes.push(`<span class="bad">${esc(t('outbox.overCap'))}</span>`);
  if (o.evictedTotal) notes.push(`<span class="warn">${esc(t('outbox.evicted', { n: o.evictedTotal }))}</span>`);
  if (o.quarantined)
    notes.push(`<span class="warn">${esc(t('outbox.quarantined'))} <code>${esc(o.quarantined.movedTo)}</code></span>`);
  return notes.map((n) => `<div>${n}</div>`).join('');
}

/** Queued rows per lane over the samples, as polylines scaled to the largest depth seen. */
function depthChart(samples) {
  const svg = $('depth');
  if (!samples || samples.length < 2) {
    svg.innerHTML = `<title>${esc(t('outbox.chart'))}</title>`;
    return;
  }
  const max = Math.max(1, ...samples.flatMap((s) => s.d));
  const t0 = samples[0].t;
  const span = Math.max(1, samples[samples.length - 1].t - t0);
  svg.innerHTML =
    `<title>${esc(t('outbox.chart'))}</title>` +
    LANES.map((lane, i) => {
      const pts = samples.map(
        (s) => `${(((s.t - t0) / span) * 360).toFixed(1)},${(78 - (s.d[i] / max) * 74).toFixed(1)}`,
      );
      return `<polyline class="lane-${lane}" points="${pts.join(' ')}"><title>${esc(lane)}</title></polyline>`;
    }).join('');
  $('depthCap').textContent = t('outbox.chartMax', { max, hours: (span / 3_600_000).toFixed(1) });
}

export function renderOverview(ov) {
  const s = ov.status;
  s.web = { ...(s.web || {}), lastAckSeenAt: ov.lastAckSeenAt };
  $('gw').textContent = `${s.gateway} @ ${s.site} · v${s.version}`;
  const u = s.uplink;
  setHtml(
    $('link'),
    u.sessionTakenOver
      ? badge('bad', t('link.takenOver'))
      : u.connected
        ? badge('ok', t('link.online'))
        : badge('bad', t('link.offline')),
  );
  renderAlarms(ov.alarms);
  setHtml($('uplink'), uplinkHtml(s));
  $('outbox').tBodies[0].innerHTML = s.outbox.lanes
    .map(
      (l) =>
        `<tr>${td('col.lane', esc(t(`sev.${l.lane}`)))}${td('col.queued', l.depth)}${td('col.bytes', bytes(l.bytes))}${td('col.oldest', age(l.oldestAgeMs))}${td('col.refused', l.refused ? badge(l.lane === 'critical' ? 'bad' : 'warn', l.refused) : '0')}</tr>`,
    )
    .join('');
  depthChart(ov.depth);
  $('outboxNote').innerHTML = outboxNote(s.outbox);
  const disk = ov.disk
    ? `${bytes(ov.disk.freeBytes)} ${esc(t('box.freeOf'))} ${bytes(ov.disk.totalBytes)}`
    : esc(ov.diskError || '–');
  $('box').innerHTML =
    `<div>${esc(t('box.clock'))}: ${s.clock.synced ? badge('ok', t('box.synced')) : badge('warn', t('box.notSynced'))} · ${esc(t('box.now'))} ${timeEl(new Date().toISOString())}</div>` +
    `<div>${esc(t('box.disk'))}: ${disk} · ${esc(t('box.uptime'))}: ${age(s.uptimeSec * 1000)} · ${esc(t('box.lastSeq'))}: ${s.lastSeq}</div>` +
    Object.entries(s.drivers || {})
      .map(
        ([name, h]) =>
          `<div>${esc(t('box.driver'))} ${esc(name)}: ${h.up && h.state === 'running' ? badge('ok', h.state) : badge('bad', h.state)}${h.restarts ? ` · ${esc(t('box.restarts'))} ${h.restarts}` : ''}${h.lastErrorCode ? ` · ${codeLink(h.lastErrorCode)}: ${esc(h.lastError || '')}` : ''}</div>`,
      )
      .join('');
  renderOutputs(ov.outputs);
}

export function renderOutputs(outputs) {
  if (!outputs) return;
  $('outputs').tBodies[0].innerHTML =
    outputs
      .map(
        (x) =>
          `<tr>${td('col.output', `${esc(x.name || x.id)}<br><small>${esc(x.id)} · ${esc(x.line)}</small>`)}${td('col.state', x.active ? badge('warn', t('outputs.on')) : esc(t('outputs.off')))}${td('col.lastChange', `${timeEl(x.lastChange)}${x.heldBy?.length ? `<br><small>${esc(t('outputs.heldBy'))} ${esc(x.heldBy.join('; '))}</small>` : ''}`)}${td('col.error', x.lastError ? `<span class="bad">${codeLink(x.lastError.code)}: ${esc(x.lastError.message)}</span>` : '')}</tr>`,
      )
      .join('') || `<tr>${td('col.output', esc(t('outputs.none')))}</tr>`;
}
