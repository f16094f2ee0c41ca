// The page's one string catalogue (agent/web/i18n/<lang>.json), also used by the walk-test report.
// English is the fallback for any key a translation lacks.
import { readFileSync } from 'node:fs';
import { shippedFile } from '../paths.js';

export const LANGS = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGS)[number];

const cache = new Map<Lang, Record<string, string>>();

export function catalogue(lang: Lang): Record<string, string> {
  let c = cache.get(lang);
  if (!c) {
    c = JSON.parse(readFileSync(shippedFile('agent', 'web', 'i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
    cache.set(lang, c);
  }
  return c;
}

/** `?lang=` or Accept-Language to one of ours (Chinese variants → zh-CN, anything else → en). */
export function pickLang(query: unknown, acceptLanguage: string | undefined): Lang {
  const q = typeof query === 'string' ? query : '';
  if ((LANGS as readonly string[]).includes(q)) return q as Lang;
  return /^\s*zh\b/i.test(acceptLanguage ?? '') ? 'zh-CN' : 'en';
}

export function translator(lang: Lang): (key: string, vars?: Record<string, string | number>) => string {
  const c = catalogue(lang);
  const en = catalogue('en');
  return (key, vars) => {
    let s = c[key] ?? en[key] ?? key;
    for (const [k, v] of Object.entries(vars ?? {})) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}
