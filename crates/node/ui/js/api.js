// The node's HTTP API, as the CLI uses it.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function get(path) {
  const response = await fetch(`/api/v1${path}`, { headers: { accept: 'application/json' } });
  return answer(response);
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
    throw new ApiError(response.status, `the node answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, body && body.error ? body.error : `error ${response.status}`);
  }
  return body;
}

export const enc = encodeURIComponent;
