// The check that every word of the web UI goes through a catalog: finds the
// catalog keys UI code uses, and the places where it puts letters on the page
// without a catalog. No parser dependency: a small JavaScript tokenizer
// (strings, template literals, regular expressions, comments) is enough,
// because the UI follows two conventions the scan relies on:
//
// - keys are literal strings: `t('dc.members')`, `tn('keys.needed', ...)`;
// - text reaches the page through a few sinks: `h(tag, attributes,
//   ...children)` and `s(...)` (dom.js), `fill(element, ...children)`, the
//   page helpers of app.js (`page`, `table`, `txForm`, `field`,
//   `liveSection`, `announce`, `say`), `confirm`/`alert`, errors the UI
//   throws, text attributes (`title`, `placeholder`, `aria-label`, `alt`,
//   `label`...) in any object literal, and assignments to `textContent`,
//   `title`, `placeholder`...
//
// In those places a string literal or the fixed part of a template literal
// may hold no letter (numbers, punctuation and symbols such as '→' or '·'
// are fine); what people typed, names, ids and token symbols come from
// variables and are not literals. Nested calls are followed, except nested
// sinks (checked on their own) and `t`/`tn` (whose argument is a key).

/** Names that are not words of any language (the program's own name). */
export const NAMES = new Set(['stigmer']);

const LETTER = /\p{L}/u;

/** Sinks: the index of their first text argument, and of an argument that
 * holds attributes (checked for text attributes only). */
const SINKS = new Map([
  ['h', { from: 2, attributes: 1 }],
  ['s', { from: 2, attributes: 1 }],
  ['fill', { from: 1 }],
  ['page', { from: 0 }],
  ['liveSection', { only: [0] }],
  ['table', { only: [0, 1] }],
  ['txForm', { only: [0] }],
  ['field', { only: [0, 2] }],
  ['announce', { from: 1 }],
  ['say', { from: 1 }],
  ['confirm', { from: 0 }],
  ['alert', { from: 0 }],
  ['prompt', { from: 0 }],
  ['append', { from: 0 }],
  ['prepend', { from: 0 }],
  ['replaceChildren', { from: 0 }],
  ['createTextNode', { from: 0 }],
  ['Error', { from: 0 }],
  ['SaidError', { from: 0 }],
  ['ApiError', { from: 1 }],
]);

/** Properties and attributes whose value people read. */
const TEXT_KEYS = new Set([
  'title', 'placeholder', 'aria-label', 'aria-description', 'aria-roledescription', 'aria-valuetext',
  'alt', 'label', 'xLabel', 'yLabel', 'button', 'text', 'textContent', 'innerText', 'innerHTML',
  'outerHTML', 'ariaLabel', 'ariaDescription', 'ariaValueText',
]);

const KEY_FUNCTIONS = new Set(['t', 'tn']);

/** Calls whose arguments are never page text (field names, paths, ids). */
const NON_TEXT_CALLS = new Set([
  'get', 'getAll', 'has', 'post', 'fetch', 'getAttribute', 'getElementById', 'querySelector', 'querySelectorAll',
  'createElement', 'createElementNS', 'addEventListener', 'getItem', 'setItem', 'removeItem', 'enc',
  'encodeURIComponent', 'decodeURIComponent', 'startsWith', 'endsWith', 'includes', 'indexOf', 'split',
  'replace', 'replaceAll', 'match', 'matchAll', 'test', 'toString', 'padStart', 'padEnd', 'selectOption',
]);

const COMPARISONS = new Set(['===', '!==', '==', '!=']);

// ------------------------------------------------------------- tokenizer

const PUNCTUATORS = ['>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=',
  '&=', '|=', '^=', '**', '<<', '>>'];

/** Whether a `/` after `previous` starts a regular expression. */
function regexAllowed(previous) {
  if (!previous) return true;
  if (previous.type === 'punct') return ![')', ']', '}', '++', '--'].includes(previous.value);
  if (previous.type === 'name') return ['return', 'typeof', 'case', 'in', 'of', 'new', 'delete', 'void', 'throw', 'else', 'yield', 'await'].includes(previous.value);
  return false;
}

/** Tokens of `source`: {type: 'name'|'punct'|'string'|'template'|'regex'|'number', value, line}. */
export function tokenize(source) {
  let i = 0;
  let line = 1;
  const tokens = [];
  const push = (token) => { tokens.push(token); return token; };
  const previous = () => tokens[tokens.length - 1];
  const stop = (end) => i >= source.length || (end !== undefined && source[i] === end);

  function template() {
    // i is after the backquote.
    const quasis = [];
    const exprs = [];
    const startLine = line;
    let text = '';
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') { text += source.slice(i, i + 2); i += 2; continue; }
      if (source[i] === '$' && source[i + 1] === '{') {
        quasis.push(text);
        text = '';
        i += 2;
        exprs.push(scan('}'));
        i += 1; // the closing brace
        continue;
      }
      if (source[i] === '\n') line += 1;
      text += source[i];
      i += 1;
    }
    i += 1;
    quasis.push(text);
    return { type: 'template', quasis, exprs, line: startLine };
  }

  function scan(end) {
    const start = tokens.length;
    let depth = 0;
    while (!stop()) {
      const c = source[i];
      if (end !== undefined && c === end && depth === 0) break;
      if (c === '\n') { line += 1; i += 1; continue; }
      if (/\s/.test(c)) { i += 1; continue; }
      if (c === '/' && source[i + 1] === '/') {
        while (i < source.length && source[i] !== '\n') i += 1;
        continue;
      }
      if (c === '/' && source[i + 1] === '*') {
        const close = source.indexOf('*/', i + 2);
        const stopAt = close < 0 ? source.length : close + 2;
        line += (source.slice(i, stopAt).match(/\n/g) || []).length;
        i = stopAt;
        continue;
      }
      if (c === '\'' || c === '"') {
        let j = i + 1;
        let value = '';
        while (j < source.length && source[j] !== c) {
          if (source[j] === '\\') { value += source[j + 1]; j += 2; continue; }
          value += source[j];
          j += 1;
        }
        push({ type: 'string', value, line });
        i = j + 1;
        continue;
      }
      if (c === '`') {
        i += 1;
        push(template());
        continue;
      }
      if (c === '/' && regexAllowed(previous())) {
        let j = i + 1;
        let inClass = false;
        while (j < source.length) {
          const d = source[j];
          if (d === '\\') { j += 2; continue; }
          if (d === '[') inClass = true;
          else if (d === ']') inClass = false;
          else if (d === '/' && !inClass) break;
          else if (d === '\n') break;
          j += 1;
        }
        j += 1;
        while (j < source.length && /[a-z]/i.test(source[j])) j += 1;
        push({ type: 'regex', value: source.slice(i, j), line });
        i = j;
        continue;
      }
      if (/[\p{L}_$]/u.test(c)) {
        let j = i + 1;
        while (j < source.length && /[\p{L}\p{N}_$]/u.test(source[j])) j += 1;
        push({ type: 'name', value: source.slice(i, j), line });
        i = j;
        continue;
      }
      if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(source[i + 1]))) {
        let j = i + 1;
        while (j < source.length && /[0-9a-zA-Z_.]/.test(source[j])) j += 1;
        push({ type: 'number', value: source.slice(i, j), line });
        i = j;
        continue;
      }
      const punct = PUNCTUATORS.find((p) => source.startsWith(p, i)) || c;
      if (punct === '{' || punct === '(' || punct === '[') depth += 1;
      if (punct === '}' || punct === ')' || punct === ']') depth -= 1;
      push({ type: 'punct', value: punct, line });
      i += punct.length;
    }
    return tokens.splice(start);
  }

  return scan();
}

// ------------------------------------------------------------- structure

const OPEN = { '(': ')', '[': ']', '{': '}' };

/** The index just after the bracket matching the one at `start`. */
function matching(tokens, start) {
  let depth = 0;
  for (let k = start; k < tokens.length; k += 1) {
    const token = tokens[k];
    if (token.type !== 'punct') continue;
    if (OPEN[token.value]) depth += 1;
    else if ([')', ']', '}'].includes(token.value)) {
      depth -= 1;
      if (depth === 0) return k + 1;
    }
  }
  return tokens.length;
}

/** The arguments of the call whose `(` is at `open`: arrays of tokens. */
function callArguments(tokens, open) {
  const end = matching(tokens, open) - 1;
  const args = [];
  let current = [];
  for (let k = open + 1; k < end; k += 1) {
    const token = tokens[k];
    if (token.type === 'punct' && OPEN[token.value]) {
      const close = matching(tokens, k);
      current.push(...tokens.slice(k, close));
      k = close - 1;
      continue;
    }
    if (token.type === 'punct' && token.value === ',') {
      args.push(current);
      current = [];
      continue;
    }
    current.push(token);
  }
  if (current.length) args.push(current);
  return args;
}

/** The called name of a call whose `(` is at `open` (`h`, `confirm`,
 * `setAttribute`), or null when the bracket is not a call. */
function calleeAt(tokens, open) {
  const before = tokens[open - 1];
  if (!before || before.type !== 'name') return null;
  if (['if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'typeof', 'await', 'of', 'in'].includes(before.value)) return null;
  return before.value;
}

// ---------------------------------------------------------------- checks

function hasWords(text) {
  if (!LETTER.test(text)) return false;
  // A name that is no word of any language may stand alone.
  return !NAMES.has(text.trim());
}

/**
 * The text in an expression (`tokens`) that would reach the page: string
 * literals and the fixed parts of template literals, following nested
 * expressions and calls, but not nested sinks and not catalog keys.
 */
function textIn(tokens, found) {
  const brackets = [];
  for (let k = 0; k < tokens.length; k += 1) {
    const token = tokens[k];
    if (token.type === 'punct') {
      if (token.value === '(') {
        const callee = calleeAt(tokens, k);
        if (callee && (SINKS.has(callee) || KEY_FUNCTIONS.has(callee) || NON_TEXT_CALLS.has(callee))) {
          k = matching(tokens, k) - 1;
          continue;
        }
      }
      if (token.value === '=>' && tokens[k + 1] && tokens[k + 1].value === '{') {
        // A function body: only what it returns is its value.
        const end = matching(tokens, k + 1);
        for (const returned of returns(tokens.slice(k + 2, end - 1))) textIn(returned, found);
        k = end - 1;
        continue;
      }
      if (OPEN[token.value]) brackets.push(token.value);
      else if ([')', ']', '}'].includes(token.value)) brackets.pop();
      continue;
    }
    if (token.type === 'string') {
      const next = tokens[k + 1];
      const before = tokens[k - 1];
      const isKey = brackets[brackets.length - 1] === '{' && next && next.type === 'punct' && next.value === ':';
      // `status === 'member'` compares; it shows nothing.
      const compared = (next && COMPARISONS.has(next.value)) || (before && COMPARISONS.has(before.value));
      if (!isKey && !compared && hasWords(token.value)) found.push({ line: token.line, text: token.value });
    } else if (token.type === 'template') {
      for (const quasi of token.quasis) {
        if (hasWords(quasi)) found.push({ line: token.line, text: `\`${token.quasis.join('${…}')}\`` });
      }
      for (const expr of token.exprs) textIn(expr, found);
    }
  }
}

/** The expressions of the `return` statements of a function body (not of
 * functions nested in it). */
function returns(body) {
  const out = [];
  for (let k = 0; k < body.length; k += 1) {
    const token = body[k];
    if (token.type === 'punct' && token.value === '{' && body[k - 1] && body[k - 1].value === '=>') {
      k = matching(body, k) - 1;
      continue;
    }
    if (token.type === 'name' && token.value === 'return') {
      const expression = [];
      let depth = 0;
      for (k += 1; k < body.length; k += 1) {
        const part = body[k];
        if (part.type === 'punct') {
          if (part.value === ';' && depth === 0) break;
          if (OPEN[part.value]) depth += 1;
          if ([')', ']', '}'].includes(part.value)) depth -= 1;
        }
        expression.push(part);
      }
      out.push(expression);
    }
  }
  return out;
}

/** Every token, those inside template literals' `${}` included. */
function flatten(tokens) {
  const out = [];
  for (const token of tokens) {
    out.push(token);
    if (token.type === 'template') for (const expr of token.exprs) out.push(...flatten(expr));
  }
  return out;
}

/** Text attributes in object literals: `{ title: 'Hello' }`. */
function textProperties(tokens, found) {
  for (let k = 0; k + 2 < tokens.length; k += 1) {
    const key = tokens[k];
    const colon = tokens[k + 1];
    if (!(key.type === 'name' || key.type === 'string') || colon.type !== 'punct' || colon.value !== ':') continue;
    if (!TEXT_KEYS.has(key.value)) continue;
    const previous = tokens[k - 1];
    if (!previous || previous.type !== 'punct' || !['{', ','].includes(previous.value)) continue;
    // The value runs to the next comma or closing brace at this depth.
    const value = [];
    let depth = 0;
    for (let v = k + 2; v < tokens.length; v += 1) {
      const token = tokens[v];
      if (token.type === 'punct') {
        if (OPEN[token.value]) depth += 1;
        if ([')', ']', '}'].includes(token.value)) {
          if (depth === 0) break;
          depth -= 1;
        }
        if (token.value === ',' && depth === 0) break;
      }
      value.push(token);
    }
    textIn(value, found);
  }
}

/** Assignments to text properties: `element.textContent = 'Hello'`. */
function textAssignments(tokens, found) {
  for (let k = 1; k + 1 < tokens.length; k += 1) {
    const name = tokens[k];
    const equals = tokens[k + 1];
    const dot = tokens[k - 1];
    if (name.type !== 'name' || !TEXT_KEYS.has(name.value)) continue;
    if (dot.type !== 'punct' || !['.', '?.'].includes(dot.value)) continue;
    if (equals.type !== 'punct' || !['=', '+='].includes(equals.value)) continue;
    // The value runs to the end of the statement.
    const value = [];
    let depth = 0;
    for (let v = k + 2; v < tokens.length; v += 1) {
      const token = tokens[v];
      if (token.type === 'punct') {
        if (token.value === ';' && depth === 0) break;
        if (OPEN[token.value]) depth += 1;
        if ([')', ']', '}'].includes(token.value)) {
          if (depth === 0) break;
          depth -= 1;
        }
      }
      value.push(token);
    }
    textIn(value, found);
  }
}

/**
 * Problems in a UI script: `{line, text, why}` for each place that puts
 * letters on the page without a catalog, or uses a key that is not a
 * literal string.
 */
export function scanScript(source, { allowDynamicKeys = false } = {}) {
  const tokens = tokenize(source);
  const problems = [];
  const flag = (why) => (item) => problems.push({ ...item, why });
  for (let k = 0; k < tokens.length; k += 1) {
    const token = tokens[k];
    if (token.type !== 'punct' || token.value !== '(') continue;
    const callee = calleeAt(tokens, k);
    if (!callee) continue;
    const args = callArguments(tokens, k);
    if (KEY_FUNCTIONS.has(callee)) {
      const first = args[0] || [];
      const literal = first.length === 1 && first[0].type === 'string';
      const member = tokens[k - 2] && tokens[k - 2].type === 'punct' && tokens[k - 2].value === '.' && !['i18n'].includes(tokens[k - 3]?.value);
      if (!literal && !allowDynamicKeys && !member) {
        problems.push({ line: token.line, text: `${callee}(…)`, why: 'a catalog key must be a literal string' });
      }
      continue;
    }
    if (callee === 'setAttribute') {
      const [name, value] = args;
      if (name && name.length === 1 && name[0].type === 'string' && TEXT_KEYS.has(name[0].value) && value) {
        const found = [];
        textIn(value, found);
        found.forEach(flag(`text in the ${name[0].value} attribute`));
      }
      continue;
    }
    const sink = SINKS.get(callee);
    if (!sink) continue;
    args.forEach((arg, index) => {
      const found = [];
      const isText = sink.only ? sink.only.includes(index) : index >= sink.from;
      if (isText) textIn(arg, found);
      found.forEach(flag(`text given to ${callee}()`));
    });
  }
  const attributes = [];
  textProperties(tokens, attributes);
  attributes.forEach(flag('text in a text attribute or property'));
  const assigned = [];
  textAssignments(tokens, assigned);
  assigned.forEach(flag('text assigned to the page'));
  return dedupe(problems);
}

function dedupe(problems) {
  const seen = new Set();
  return problems.filter((p) => {
    const id = `${p.line}:${p.text}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Catalog keys a script uses: the literal first arguments of `t`/`tn`. */
export function keysInScript(source) {
  const tokens = flatten(tokenize(source));
  const keys = new Set();
  for (let k = 0; k + 2 < tokens.length; k += 1) {
    const [name, open, first] = [tokens[k], tokens[k + 1], tokens[k + 2]];
    if (name.type === 'name' && KEY_FUNCTIONS.has(name.value) && open.value === '(' && first.type === 'string') {
      keys.add(first.value);
    }
  }
  return keys;
}

const HTML_TEXT_ATTRIBUTES = ['title', 'aria-label', 'placeholder', 'alt', 'aria-description', 'label'];

/** Problems in the page's markup: text outside the catalogs. Text inside
 * `<noscript>` (shown only without JavaScript, so in every language at
 * once), scripts and styles is not page text. */
export function scanHtml(source) {
  const problems = [];
  const lineOf = (index) => source.slice(0, index).split('\n').length;
  const blank = (match) => match.replace(/[^\n]/g, ' ');
  const body = source
    .replace(/<!--[\s\S]*?-->/g, blank)
    .replace(/<(script|style|noscript)\b[^>]*>[\s\S]*?<\/\1>/gi, blank);
  for (const match of body.matchAll(/>([^<]+)</g)) {
    const text = match[1].trim();
    if (text && hasWords(text)) problems.push({ line: lineOf(match.index), text, why: 'text in the markup' });
  }
  for (const match of body.matchAll(/<[a-z][^>]*>/gi)) {
    for (const attribute of HTML_TEXT_ATTRIBUTES) {
      const value = match[0].match(new RegExp(`\\s${attribute}="([^"]*)"`, 'i'));
      if (value && hasWords(value[1])) {
        problems.push({ line: lineOf(match.index), text: value[1], why: `text in the ${attribute} attribute` });
      }
    }
  }
  return problems;
}

/** Catalog keys the markup uses: `data-i18n="key"`, `data-i18n-ATTRIBUTE="key"`. */
export function keysInHtml(source) {
  const keys = new Set();
  for (const match of source.matchAll(/\sdata-i18n(?:-[a-z-]+)?="([^"]+)"/g)) keys.add(match[1]);
  return keys;
}

/** The `{placeholders}` of a message (all plural forms together). */
export function placeholders(message) {
  const texts = typeof message === 'string' ? [message] : Object.values(message);
  const names = new Set();
  for (const text of texts) for (const match of text.matchAll(/\{(\w+)\}/g)) names.add(match[1]);
  return names;
}
