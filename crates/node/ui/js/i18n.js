// Every word the UI shows, in the reader's language.
//
// The words live in message catalogs, one plain JSON file per language in
// `ui/i18n/` (`en.json`, `ko.json`, `es.json`): a flat object from a key
// (`dc.members.title`) to a message. A message may hold `{name}`
// placeholders, filled by `t(key, { name })`; one whose wording depends on a
// number is an object of plural forms, chosen by `Intl.PluralRules` from the
// parameter `count` (`{"one": "{count} member", "other": "{count} members"}`;
// Korean needs only `other`). Numbers, dates and durations are formatted
// here with `Intl`, in the chosen language.
//
// How a page adds its words (every page, from its first line):
//   1. Write `t('page.thing')` (or `tn(...)` when a placeholder is a link or
//      other element) wherever the page shows text: content, `title`,
//      `placeholder`, `aria-label`, button labels, error messages it writes.
//      Keys are literal strings, never built at run time, so that the test
//      can find them.
//   2. Add the key to all three catalogs, written as a native speaker would
//      say it (Korean in the polite 해요체, Spanish neutral for Spain and Latin
//      America).
//   3. `node --test crates/node/ui/test/` fails if a catalog lacks a key
//      another has, if a key is unused, or if UI code puts letters on the
//      page without a catalog. What people typed, names, ids, token symbols
//      and numbers are data and go on the page as they are.
// Explanations of changes are never sentences from the server: the API gives
// each log entry's `detail` as data and `explain.js` words it from here.

const CATALOGS = '/ui/i18n';
/** The languages there is a catalog for, and their names in themselves. */
export const LANGUAGES = Object.freeze({ ko: '한국어', es: 'Español', en: 'English' });
const FALLBACK = 'en';
const RIGHT_TO_LEFT = new Set(['ar', 'fa', 'he', 'ur']);
const STORE = 'stigmer.language';

let locale = FALLBACK;
let messages = {};
let fallbackMessages = {};
const formats = new Map();

/** An error whose message is already in the reader's language (the UI's
 * own, from a catalog): shown as it is. */
export class SaidError extends Error {}

/** The chosen language's code (`ko`, `es`, `en`). */
export function current() {
  return locale;
}

/**
 * The language to show: the one chosen before in this browser, else the
 * first of the browser's preferences there is a catalog for, else English.
 */
export function preferred(stored = readStored(), languages = browserLanguages()) {
  if (stored && Object.hasOwn(LANGUAGES, stored)) return stored;
  for (const tag of languages) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (Object.hasOwn(LANGUAGES, base)) return base;
  }
  return FALLBACK;
}

function browserLanguages() {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ''];
}

function readStored() {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(STORE);
  } catch {
    return null;
  }
}

/** Remembers the person's choice in this browser. */
export function remember(code) {
  try {
    localStorage.setItem(STORE, code);
  } catch {
    // Private modes may refuse storage: the choice then lasts this visit.
  }
}

async function fetchCatalog(code) {
  const path = `${CATALOGS}/${code}.json`;
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  // Without its words the UI cannot say anything: the path says what failed.
  if (!response.ok) throw new Error(`${path} ${response.status}`);
  return response.json();
}

/** Loads the catalog of `code` (and English, for a key a catalog lacks). */
export async function load(code) {
  if (!Object.hasOwn(LANGUAGES, code)) code = FALLBACK;
  const [chosen, english] = await Promise.all([
    fetchCatalog(code),
    code === FALLBACK ? null : fetchCatalog(FALLBACK),
  ]);
  use(code, chosen, english || chosen);
}

/** Uses catalogs already read (tests give them directly). */
export function use(code, catalog, english = catalog) {
  locale = code;
  messages = catalog;
  fallbackMessages = english;
  formats.clear();
  if (typeof document !== 'undefined') {
    document.documentElement.lang = code;
    // The page's CSS aligns text by logical sides (start, end): a
    // right-to-left catalog added later turns the page with `dir`.
    document.documentElement.dir = RIGHT_TO_LEFT.has(code) ? 'rtl' : 'ltr';
  }
}

function message(key, params) {
  let value = Object.hasOwn(messages, key) ? messages[key] : fallbackMessages[key];
  if (value === undefined) return key;
  if (typeof value === 'object') {
    const count = Number(params.count ?? 0);
    const category = cached('plural', () => new Intl.PluralRules(locale)).select(count);
    value = value[category] ?? value.other;
  }
  return value;
}

/** Splits a message into text and the values of its placeholders. */
function parts(text, params) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(/\{(\w+)\}/g)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    const name = match[1];
    out.push(Object.hasOwn(params, name) ? shown(params[name]) : match[0]);
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function shown(value) {
  if (typeof value === 'number') return number(value);
  if (value === null || value === undefined) return '';
  return value;
}

/** The message `key` as a string, placeholders filled (numbers formatted). */
export function t(key, params = {}) {
  return parts(message(key, params), params).map(String).join('');
}

/**
 * The message `key` as parts for `h(...)`: placeholders may be elements (a
 * link in the middle of a sentence), whose place each language decides.
 */
export function tn(key, params = {}) {
  return parts(message(key, params), params);
}

function cached(name, make) {
  if (!formats.has(name)) formats.set(name, make());
  return formats.get(name);
}

/**
 * A number for reading, at most `digits` decimals. `value` may be an exact
 * decimal string from the API: `Intl.NumberFormat` formats such a string
 * exactly, without going through a binary float.
 */
export function number(value, digits = 2) {
  const format = cached(`n${digits}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }));
  return formatValue(format, value);
}

/** An exact decimal from the API, every digit kept (at most 18 decimals). */
export function exact(value) {
  return number(value, 18);
}

export function percent(share, digits = 0) {
  const format = cached(`p${digits}`, () => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: digits }));
  return formatValue(format, share);
}

function formatValue(format, value) {
  if (typeof value === 'string') {
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) return value;
    return format.format(value);
  }
  const numeric = Number(value);
  return Number.isFinite(numeric) ? format.format(numeric) : String(value);
}

/** A date and time, in the reader's language and time zone. */
export function dateTime(timestampMs) {
  const format = cached('dt', () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }));
  return format.format(new Date(timestampMs));
}

/** How long ago: "just now", "12 seconds ago", then the date and time. */
export function ago(timestampMs, nowMs = Date.now()) {
  if (!timestampMs) return '';
  const format = cached('rt', () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
  const seconds = Math.round((nowMs - timestampMs) / 1000);
  if (seconds < 5) return format.format(0, 'second');
  if (seconds < 90) return format.format(-seconds, 'second');
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return format.format(-minutes, 'minute');
  return dateTime(timestampMs);
}

/** A duration in minutes, as the language says it ("3 min", "3분"). */
export function minutes(value) {
  const format = cached('min', () => new Intl.NumberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'short', maximumFractionDigits: 1 }));
  return format.format(value);
}

/** Fills the page's own markup: `data-i18n="key"` sets an element's text,
 * `data-i18n-ATTRIBUTE="key"` one of its attributes. */
export function translateDocument(root = document) {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.getAttribute('data-i18n'));
  }
  for (const attribute of ['aria-label', 'title', 'placeholder']) {
    for (const element of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(`data-i18n-${attribute}`)));
    }
  }
}
