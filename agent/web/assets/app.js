// The technician's page: sign-in, then everything by push over one server-sent event stream (no
// polling of the whole status). The sign-in screen only asks "am I signed in?" every few seconds:
// those requests are never counted as failed sign-ins (agent/web/throttle.ts).
import { ApiError, api, setCsrf } from './api.js';
import { initConfig, showConfig } from './configview.js';
import { onSim, renderDeviceList, setDevices, showDevice } from './devices.js';
import { addEvents, initEvents } from './events.js';
import { chooseLang, currentLang, setLang, t } from './i18n.js';
import { renderAlarms, renderOverview } from './overview.js';
import { $, setHtml } from './util.js';
import { initWalkTest, onWalkTest, showWalkTests } from './walktest.js';

const SESSION_POLL_MS = 5000;
const state = { user: null, overview: null, stream: null, poll: null, view: 'overview' };

async function main() {
  await setLang(chooseLang());
  $('lang').value = currentLang();
  $('lang').onchange = async () => {
    await setLang($('lang').value);
    rerender();
  };
  $('signinForm').onsubmit = signIn;
  $('signout').onclick = signOut;
  for (const b of $('nav').querySelectorAll('button')) b.onclick = () => go(b.dataset.view);
  initEvents();
  initWalkTest(() => state.user);
  initConfig();
  $('devices').onclick = onSim;
  // The demo prints a link with a machine token in the fragment: trade it for a session at once
  // and drop it from the address bar.
  const m = /token=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname);
    try {
      const s = await api('/api/login', { method: 'POST', body: { token: decodeURIComponent(m[1]) } });
      return start(s);
    } catch (e) {
      $('loginMsg').textContent = message(e);
    }
  }
  try {
    return start(await api('/api/session'));
  } catch {
    showSignIn(); // not signed in: the sign-in form, with no error shown before anything was typed
  }
}

function message(e) {
  if (e instanceof ApiError && e.code === 'WG_ERR_HTTP_LOCKED_OUT') return t('signin.locked');
  if (e instanceof ApiError && e.status === 401) return t('signin.wrong');
  if (e instanceof ApiError && e.status === 0) return t('signin.unreachable');
  return `${e.code || ''} ${e.message}`.trim();
}

function showSignIn() {
  stop();
  $('app').hidden = true;
  $('nav').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  setHtml($('link'), '');
  // Notice a session made in another tab, and say when the box stops answering.
  state.poll = setInterval(async () => {
    try {
      const s = await api('/api/session');
      start(s);
    } catch (e) {
      $('boxState').textContent = e instanceof ApiError && e.status === 0 ? t('signin.unreachable') : '';
    }
  }, SESSION_POLL_MS);
}

async function signIn(ev) {
  ev.preventDefault();
  $('loginMsg').textContent = '';
  $('signinBtn').disabled = true;
  try {
    const s = await api('/api/login', {
      method: 'POST',
      body: { name: $('name').value.trim(), password: $('password').value },
    });
    $('password').value = '';
    start(s);
  } catch (e) {
    $('loginMsg').textContent = message(e);
  } finally {
    $('signinBtn').disabled = false;
  }
}

async function signOut() {
  await api('/api/logout', { method: 'POST' }).catch(() => {});
  state.user = null;
  showSignIn();
}

function stop() {
  clearInterval(state.poll);
  state.poll = null;
  state.stream?.close();
  state.stream = null;
}

function start(session) {
  stop();
  state.user = session.user;
  setCsrf(session.csrf);
  $('signin').hidden = true;
  $('loginMsg').textContent = '';
  $('app').hidden = false;
  $('nav').hidden = false;
  $('signout').hidden = false;
  connect();
  go(state.view);
}

/** One stream for everything. A closed stream (signed out, expired) sends the page back to sign-in. */
function connect() {
  const es = new EventSource('/api/events/stream');
  state.stream = es;
  es.addEventListener('hello', (m) => {
    const h = JSON.parse(m.data);
    state.overview = h.overview;
    setDevices(h.devices, h.outputs);
    addEvents(h.events, true);
    if (h.overview.walkTest || state.view === 'walktest') showWalkTests();
    rerender();
  });
  es.addEventListener('events', (m) => {
    const b = JSON.parse(m.data);
    if (state.overview) state.overview.alarms = b.alarms;
    renderAlarms(b.alarms);
    setDevices(b.devices, b.outputs);
    addEvents(b.events, false);
    if (state.view === 'devices') renderDeviceList(state.overview);
  });
  es.addEventListener('overview', (m) => {
    state.overview = JSON.parse(m.data);
    renderOverview(state.overview);
  });
  es.addEventListener('alarms', (m) => {
    const alarms = JSON.parse(m.data);
    if (state.overview) state.overview.alarms = alarms;
    renderAlarms(alarms);
  });
  es.addEventListener('walktest', (m) => onWalkTest(JSON.parse(m.data)));
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    api('/api/session').then(
      () => setTimeout(() => state.user && connect(), SESSION_POLL_MS),
      () => showSignIn(),
    );
  };
}

function rerender() {
  if (!state.overview) return;
  renderOverview(state.overview);
  if (state.view === 'devices') renderDeviceList(state.overview);
}

function go(view) {
  state.view = view;
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`;
  for (const b of $('nav').querySelectorAll('button'))
    b.setAttribute('aria-current', b.dataset.view === view ? 'page' : 'false');
  if (view === 'devices') {
    if (state.overview) renderDeviceList(state.overview);
    const id = new URLSearchParams(location.search).get('device');
    if (id) showDevice(id);
  }
  if (view === 'walktest') showWalkTests();
  if (view === 'config') showConfig();
}

main();
