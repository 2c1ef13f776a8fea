// The node's HTTP API, as the CLI uses it.

/** The node said no: `status` is the HTTP status, `detail` the node's own
 * words (English, from `{"error": ...}`), or null. The UI shows a sentence
 * of its own for the case first. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || String(status));
    this.status = status;
    this.detail = detail;
  }
}

export async function get(path) {
  const response = await fetch(`/api/v1${path}`, { headers: { accept: 'application/json' } });
  return answer(response);
}

/** Most pages `getAll` reads: lists are paginated by the node, and a page
 * must stay responsive even for a very large cooperative. */
export const PAGES_MAX = 20;

/**
 * The items of a paginated list (`field` of each page), following `next`
 * cursors, at most PAGES_MAX pages. `complete` says whether that was all.
 */
export async function getAll(path, field) {
  const items = [];
  const join = path.includes('?') ? '&' : '?';
  let cursor = null;
  for (let n = 0; n < PAGES_MAX; n += 1) {
    const page = await get(cursor === null ? path : `${path}${join}cursor=${enc(cursor)}`);
    items.push(...page[field]);
    cursor = page.next;
    if (cursor === null || cursor === undefined) return { items, complete: true };
  }
  return { items, complete: false };
}

export async function post(path, body) {
  const response = await fetch(`/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return answer(response);
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, null);
  }
  if (!response.ok) {
    throw new ApiError(response.status, body && body.error ? body.error : null);
  }
  return body;
}

export const enc = encodeURIComponent;
