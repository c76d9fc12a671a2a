// The one error class of the SDK.  API refusals carry the HTTP status and
// the API's own code; failures that never got an answer carry status 0 and
// one of the client-side codes listed in CLIENT_CODES.

export const CLIENT_CODES = Object.freeze({
  NETWORK: 'network_error',     // no connection, reset, TLS failure
  TIMEOUT: 'timeout',           // timeoutMs or a timeout signal fired
  ABORTED: 'aborted',           // the caller's AbortSignal fired
  INVALID_RESPONSE: 'invalid_response', // the server's answer was not the API's
  INVALID_CONFIG: 'invalid_config',     // bad URL, unsafe token file or transport
});

// What each status means when the body has no error object (a proxy, or
// the health route's 503).
const STATUS_CODES = {
  400: 'invalid_request', 401: 'unauthenticated', 403: 'forbidden',
  404: 'not_found', 405: 'method_not_allowed', 413: 'too_large',
  415: 'unsupported_media_type', 429: 'rate_limited', 500: 'internal',
  503: 'unavailable',
};

export class RunToolsError extends Error {
  constructor(message, { status = 0, code, requestId = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RunToolsError';
    this.status = status;
    this.code = code ?? STATUS_CODES[status] ?? (status ? `http_${status}` : CLIENT_CODES.NETWORK);
    this.requestId = requestId;
  }

  toJSON() {
    return { name: this.name, status: this.status, code: this.code,
      message: this.message, requestId: this.requestId };
  }
}

// An error answer: {"error":{"code","message","requestId"}} when the API
// wrote it, else whatever we can say about the status.
export function errorFromResponse(status, body, headerRequestId) {
  const e = body && typeof body === 'object' && body.error && typeof body.error === 'object'
    ? body.error : null;
  const code = e && typeof e.code === 'string' ? e.code : undefined;
  const requestId = (e && typeof e.requestId === 'string' && e.requestId) || headerRequestId || null;
  const message = (e && typeof e.message === 'string' && e.message) ||
    `HTTP ${status}${code ? ` ${code}` : STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  return new RunToolsError(message, { status, code, requestId });
}
