// Nothing of the web UI is left out of the catalogs: the three catalogs have
// the same keys and placeholders, every key is used and every key used
// exists, and no UI code puts letters on the page without a catalog (the
// scanner is in i18n-scan.mjs; the last tests prove it catches planted
// violations). Also the small runtime of i18n.js: placeholders, plurals,
// language choice and number formatting.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import { keysInHtml, keysInScript, placeholders, scanHtml, scanScript } from './i18n-scan.mjs';
import * as i18n from '../js/i18n.js';

const UI = new URL('../', import.meta.url);
const read = (path) => readFileSync(new URL(path, UI), 'utf8');
const LOCALES = ['en', 'ko', 'es'];
const catalogs = Object.fromEntries(LOCALES.map((code) => [code, JSON.parse(read(`i18n/${code}.json`))]));

// `codec.js` and `keys.js` are the canonical encoding and the signatures,
// shared with tests outside the browser: they put nothing on the page, and
// the technical detail of their errors is shown after a sentence of the UI's
// own (`problem` in app.js).
const LIBRARIES = new Set(['codec.js', 'keys.js']);
const scripts = readdirSync(new URL('js/', UI)).filter((name) => name.endsWith('.js') && !LIBRARIES.has(name));
const html = read('index.html');

const PLURAL_CATEGORIES = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);

describe('catalogs', () => {
  test('every catalog has the keys the others have', () => {
    for (const code of LOCALES) {
      for (const other of LOCALES) {
        const missing = Object.keys(catalogs[other]).filter((key) => !Object.hasOwn(catalogs[code], key));
        assert.deepEqual(missing, [], `${code}.json lacks keys that ${other}.json has`);
      }
    }
  });

  test('every message says the same placeholders in every language', () => {
    for (const [key, message] of Object.entries(catalogs.en)) {
      const expected = [...placeholders(message)].sort();
      for (const code of LOCALES) {
        assert.deepEqual([...placeholders(catalogs[code][key])].sort(), expected, `${code}.json: ${key}`);
      }
    }
  });

  test('plural messages have the forms their language needs, and only plural forms', () => {
    for (const code of LOCALES) {
      const rules = new Intl.PluralRules(code);
      for (const [key, message] of Object.entries(catalogs[code])) {
        if (typeof message === 'string') continue;
        assert.equal(typeof message, 'object', `${code}.json: ${key}`);
        for (const form of Object.keys(message)) assert.ok(PLURAL_CATEGORIES.has(form), `${code}.json: ${key}: ${form}`);
        assert.ok(message.other, `${code}.json: ${key} lacks "other"`);
        for (const category of rules.resolvedOptions().pluralCategories) {
          // Numbers the UI counts are integers: forms for fractions only may be left out.
          const needed = [0, 1, 2, 3, 5, 11, 21, 100, 1000000].some((n) => rules.select(n) === category);
          if (needed) assert.ok(Object.hasOwn(message, category), `${code}.json: ${key} lacks "${category}"`);
        }
        assert.equal(typeof catalogs.en[key], 'object', `${key} is plural in ${code} but not in en`);
      }
    }
  });

  test('every key used exists, and every key is used', () => {
    const used = new Set(keysInHtml(html));
    for (const name of scripts) for (const key of keysInScript(read(`js/${name}`))) used.add(key);
    const missing = [...used].filter((key) => !Object.hasOwn(catalogs.en, key)).sort();
    assert.deepEqual(missing, [], 'keys used by the UI but in no catalog');
    const unused = Object.keys(catalogs.en).filter((key) => !used.has(key)).sort();
    assert.deepEqual(unused, [], 'keys in the catalogs that no UI code uses');
  });
});

describe('no text outside the catalogs', () => {
  for (const name of scripts) {
    test(`js/${name}`, () => {
      const problems = scanScript(read(`js/${name}`), { allowDynamicKeys: name === 'i18n.js' });
      assert.deepEqual(problems, []);
    });
  }

  test('index.html', () => {
    assert.deepEqual(scanHtml(html), []);
  });
});

describe('the scanner catches what it should', () => {
  const caught = (source) => scanScript(source).map((p) => p.text);

  test('text given as a child, an attribute, a title or a template', () => {
    assert.deepEqual(caught("h('p', {}, 'Hello there')"), ['Hello there']);
    assert.deepEqual(caught("h('p', { class: 'lead' }, name, ' members')"), [' members']);
    assert.deepEqual(caught("h('button', { type: 'button', title: 'Remove it' }, '×')"), ['Remove it']);
    assert.deepEqual(caught("h('input', { 'aria-label': 'Name', placeholder: 'agent id' })"), ['Name', 'agent id']);
    assert.equal(caught('h(\'p\', {}, `${n} members`)').length, 1);
    assert.equal(caught("h('p', {}, n === 1 ? '' : 's')").length, 1);
    assert.equal(caught('h(\'p\', {}, `${n === 1 ? \'member\' : \'people\'}`)').length, 2);
    assert.deepEqual(caught("h('ul', {}, items.map((item) => h('li', {}, 'Item')))"), ['Item']);
  });

  test('text assigned, confirmed, thrown or given to the page helpers', () => {
    assert.deepEqual(caught("element.textContent = 'Loading';"), ['Loading']);
    assert.deepEqual(caught("document.title = 'My keys';"), ['My keys']);
    assert.deepEqual(caught("element.setAttribute('aria-label', 'Main');"), ['Main']);
    assert.deepEqual(caught("if (confirm('Remove?')) go();"), ['Remove?']);
    assert.deepEqual(caught("throw new Error('Give the key a name.');"), ['Give the key a name.']);
    assert.deepEqual(caught("fill(status, 'Done');"), ['Done']);
    assert.deepEqual(caught("page('Transaction', body);"), ['Transaction']);
    assert.deepEqual(caught("table('Keys', ['Name', t('a')], rows);"), ['Keys', 'Name']);
    assert.deepEqual(caught("field(t('x'), input, 'Leave empty for none.');"), ['Leave empty for none.']);
    assert.deepEqual(caught("return { text: 'Nobody holds any', warn: false };"), ['Nobody holds any']);
    assert.deepEqual(caught("charts.lines(series, { xLabel: 'minutes →', label: t('x') });"), ['minutes →']);
  });

  test('keys that are not literal strings', () => {
    assert.equal(scanScript('t(`dc.${name}`)').length, 1);
    assert.equal(scanScript("t(flag ? 'a' : 'b')").length, 1);
    assert.deepEqual([...keysInScript("t('a.b', { n }); tn('c'); x.t2('d') // t('e')")], ['a.b', 'c']);
  });

  test('text in the markup', () => {
    assert.equal(scanHtml('<p>Loading…</p>').length, 1);
    assert.equal(scanHtml('<nav aria-label="Main"></nav>').length, 1);
    assert.equal(scanHtml('<a href="#/" title="Home">→</a>').length, 1);
    assert.deepEqual(scanHtml('<p data-i18n="page.loading"></p><a class="brand">stigmer</a><noscript>Needs JavaScript</noscript>'), []);
  });

  test('what is allowed passes', () => {
    const clean = [
      "h('p', { class: 'lead', href: `#/dc/${api.enc(id)}` }, t('dc.lead', { symbol }), ' · ', name, '→', 42)",
      "h('td', { class: 'n' }, words.round(r.staked, 4), ` ${'·'} `)",
      "fill(live, t('live.block', { height: block.height, count: block.transactions }));",
      "const routes = [[/^#\\/dc\\/([^/]+)$/, dcPage]]; const x = 'not on the page';",
      "if (status === 'member') op.type = 'join';",
      "h('a', { href: '#/keys' }, t('keys.neededLink'))",
      "h('li', {}, `${ok ? '✓' : '✗'} ${text}`)",
    ];
    for (const source of clean) assert.deepEqual(scanScript(source), [], source);
  });
});

describe('i18n.js', () => {
  const catalog = {
    'a.hello': 'Hello {name}',
    'a.members': { one: '{count} member', other: '{count} members' },
    'a.link': 'See {link} now',
  };

  test('placeholders and plural forms', () => {
    i18n.use('en', catalog);
    assert.equal(i18n.t('a.hello', { name: 'Ana' }), 'Hello Ana');
    assert.equal(i18n.t('a.members', { count: 1 }), '1 member');
    assert.equal(i18n.t('a.members', { count: 1200 }), '1,200 members');
    assert.equal(i18n.t('a.missing'), 'a.missing');
    const parts = i18n.tn('a.link', { link: { element: true } });
    assert.deepEqual(parts, ['See ', { element: true }, ' now']);
  });

  test('a key missing in a language falls back to English', () => {
    i18n.use('ko', { 'a.members': { other: '조합원 {count}명' } }, catalog);
    assert.equal(i18n.t('a.members', { count: 1 }), '조합원 1명');
    assert.equal(i18n.t('a.hello', { name: 'Ana' }), 'Hello Ana');
  });

  test('every catalog message renders with its placeholders filled', () => {
    for (const code of LOCALES) {
      i18n.use(code, catalogs[code], catalogs.en);
      for (const [key, message] of Object.entries(catalogs[code])) {
        const params = Object.fromEntries([...placeholders(message)].map((name) => [name, name === 'count' ? 2 : `<${name}>`]));
        const text = i18n.t(key, params);
        assert.ok(!/\{\w+\}/.test(text), `${code}: ${key}: ${text}`);
      }
    }
  });

  test('numbers, exact decimals and percentages in the chosen language', () => {
    i18n.use('es', {});
    assert.equal(i18n.exact('12345.123456789012345678'), '12.345,123456789012345678');
    assert.equal(i18n.number('0.28284271247461901', 2), '0,28');
    assert.equal(i18n.percent('0.2'), '20\u00a0%');
    i18n.use('ko', {});
    assert.equal(i18n.exact('1234.5'), '1,234.5');
    assert.equal(i18n.percent(0.5), '50%');
    i18n.use('en', {});
    assert.equal(i18n.ago(Date.now() - 30_000, Date.now()), '30 seconds ago');
  });

  test('the language: the one chosen before, else the browser’s, else English', () => {
    assert.equal(i18n.preferred('es', ['ko-KR', 'en']), 'es');
    assert.equal(i18n.preferred(null, ['ko-KR', 'en']), 'ko');
    assert.equal(i18n.preferred(null, ['fr-FR', 'es-EC']), 'es');
    assert.equal(i18n.preferred(null, ['fr-FR']), 'en');
    assert.equal(i18n.preferred('xx', []), 'en');
  });
});
