/** Reads the agent's HTTP API (same origin; the wire types are agent/src/api/contract.ts). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', ...(signal !== undefined ? { signal } : {}) });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(res.status, body.message ?? body.error ?? res.statusText);
  }
  return (await res.json()) as T;
}
