/** Reads and writes the agent's HTTP API (same origin; the wire types are agent/src/api/contract.ts). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The CSRF token of the browser's session: every state change sends it (`x-csrf-token`). */
let csrfToken: string | null = null;
/** Told when the agent no longer knows the session (it restarted, the user was removed): the page asks for a login again. */
let onUnauthorized: () => void = () => undefined;

export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

async function request<T>(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(signal !== undefined ? { signal } : {}) });
  if (res.status === 401 && !path.endsWith('/login')) onUnauthorized();
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(res.status, err.message ?? err.error ?? res.statusText);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return request<T>('GET', path, undefined, signal);
}

export function postJson<T>(path: string, body: unknown): Promise<T> {
  return request<T>('POST', path, body, undefined);
}
