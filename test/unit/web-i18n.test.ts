// One catalogue per language: both have the same keys, every key the page or the report uses is in
// them, and every event type of the catalogue has a name in each.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../agent/event.js';
import { catalogue, pickLang } from '../../agent/web/i18n.js';

const web = join(import.meta.dirname, '..', '..', 'agent', 'web');

function usedKeys(): Set<string> {
  const keys = new Set<string>();
  const files = [...readdirSync(join(web, 'assets')).map((f) => join(web, 'assets', f)), join(web, 'report.ts')];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/data-i18n="([a-zA-Z]+\.[a-zA-Z.]+)"/g)) keys.add(m[1] as string);
    for (const m of text.matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z.]+)'/g)) keys.add(m[1] as string);
    for (const m of text.matchAll(/\btd\('([a-zA-Z]+\.[a-zA-Z.]+)'/g)) keys.add(m[1] as string);
  }
  return keys;
}

describe('string catalogues', () => {
  it('English and Simplified Chinese have the same keys, and every key in use is there', () => {
    const en = catalogue('en');
    const zh = catalogue('zh-CN');
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    const missing = [...usedKeys()].filter((k) => !(k in en));
    expect(missing).toEqual([]);
    for (const [k, v] of Object.entries(zh)) expect(v.trim(), k).not.toBe('');
  });

  // A new catalogue type needs its two names here (agent/web/i18n/*.json); until then the page shows
  // the raw type, and this test says which.
  it('every event type has a name in both languages', () => {
    for (const lang of ['en', 'zh-CN'] as const) {
      const c = catalogue(lang);
      const missing = Object.keys(CATALOGUE).filter((type) => !(`type.${type}` in c));
      expect(missing, lang).toEqual([]);
    }
  });

  it('picks the language from ?lang or the browser', () => {
    expect(pickLang('zh-CN', 'en')).toBe('zh-CN');
    expect(pickLang(undefined, 'zh-TW,zh;q=0.9')).toBe('zh-CN');
    expect(pickLang(undefined, 'de-DE')).toBe('en');
    expect(pickLang('xx', undefined)).toBe('en');
  });
});
