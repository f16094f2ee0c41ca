// Small helpers shared by the views. Times are shown in the browser's local time, everywhere
// (issue 11: outputs showed UTC ISO times, devices local ones).
import { currentLang, t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

export const esc = (s) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(currentLang()) : d.toLocaleString(currentLang());
}

/** `<time>` with the full local date and time on hover and for screen readers. */
export const timeEl = (iso) =>
  iso
    ? `<time datetime="${esc(iso)}" title="${esc(new Date(iso).toLocaleString(currentLang()))}">${esc(time(iso))}</time>`
    : '–';

export function age(ms) {
  if (ms == null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

export function bytes(n) {
  if (n == null) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(1)} GiB`;
}

/** A table cell that keeps its column name on narrow screens (rows become cards). */
export const td = (labelKey, html, cls = '') =>
  `<td data-label="${esc(t(labelKey))}"${cls ? ` class="${cls}"` : ''}>${html}</td>`;

export const badge = (cls, text) => `<span class="${cls}">${esc(text)}</span>`;

/** A WG_ERR code linked to its entry on the box's /errors page (the README's table). */
export const codeLink = (code) => `<a href="/errors#${encodeURIComponent(code)}" class="code">${esc(code)}</a>`;

export const deviceLabel = (d) => esc(d?.name || d?.id || '');

/**
 * Replace an element's content only when it changed: the overview is pushed every few seconds, and
 * re-rendering an aria-live region re-announces it (the alarm list is assertive) and drops focus.
 */
const rendered = new WeakMap();
export function setHtml(el, html) {
  if (rendered.get(el) === html) return;
  rendered.set(el, html);
  el.innerHTML = html;
}
