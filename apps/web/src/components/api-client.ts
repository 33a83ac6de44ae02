/** Browser-side calls to /api/v1 with the console's session cookie; errors carry the API's message. */
export type FieldError = { field: string; message: string };

/** What the API adds to an error: the invalid fields of a 400, the session a 409 on a start names. */
export type ApiErrorDetails = { fields?: FieldError[]; sessionId?: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ApiErrorDetails,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const json = (await response.json()) as { error?: { code: string; message: string; details?: ApiError['details'] } };
  if (!response.ok) {
    throw new ApiError(response.status, json.error?.code ?? 'ERROR', json.error?.message ?? response.statusText, json.error?.details);
  }
  return json as T;
}
