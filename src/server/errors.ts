/** The fleet server's answered errors: an ApiError is sent as `{error}` with its status (and headers). */

/** An error answered as `{error}` with its status (and headers). */
export class ApiError extends Error {
  constructor(readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
