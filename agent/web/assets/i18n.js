// One string catalogue per language (/i18n/<lang>.json); English fills any gap. Static text carries
// data-i18n="key" (textContent), data-i18n-title / data-i18n-placeholder for attributes.
const cache = {};
let lang = 'en';

async function load(l) {
  if (!cache[l]) cache[l] = await (await fetch(`/i18n/${l}.json`, { credentials: 'same-origin' })).json();
  return cache[l];
}

export function chooseLang() {
  const saved = localStorage.getItem('wgLang');
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return (navigator.languages || [navigator.language]).some((l) => /^zh\b/i.test(l)) ? 'zh-CN' : 'en';
}

export async function setLang(l) {
  await load('en');
  await load(l);
  lang = l;
  localStorage.setItem('wgLang', l);
  document.documentElement.lang = l;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}

export const currentLang = () => lang;

export function t(key, vars) {
  // Names from the data (event types, device types) that the catalogue lacks are shown as they are.
  let s =
    cache[lang]?.[key] ?? cache.en?.[key] ?? (/^(type|devtype|sev)\./.test(key) ? key.replace(/^[a-z]+\./, '') : key);
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}
