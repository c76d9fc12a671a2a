// One HTTP exchange with the daemon over its unix socket, TLS or (to
// loopback) plain HTTP, on keep-alive connections.  Bodies we send and
// receive are zeroed once used; nothing is cached.

import http from 'node:http';
import https from 'node:https';
import { RunToolsError, CLIENT_CODES, errorFromResponse } from './errors.js';

export const VERSION = '0.1.0';
const MAX_RESPONSE = 64 * 1024 * 1024;
// The daemon closes an idle connection after 10 s: we drop ours first.
const IDLE_MS = 5_000;
// Marks the failure of a request sent on a connection found closed.
const STALE = Symbol('stale');

function wipe(buf) {
  if (buf)
    buf.fill(0);
}

function queryString(query) {
  if (!query)
    return '';
  const parts = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === false)
      continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function isTimeoutReason(reason) {
  return reason != null && typeof reason === 'object' && reason.name === 'TimeoutError';
}

// A keep-alive connection the server closed while it sat idle: the request
// was never read, so a request that changes nothing (GET, or a reveal) is
// sent once more on a new connection.  Others are not: should the daemon
// have gone away mid-request instead, a tool would run twice.
function staleConnection(req, err) {
  return req.reusedSocket &&
    (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'socket hang up');
}

export class Transport {
  #target;
  #token;
  #agent;
  #lib;

  constructor(cfg) {
    this.#target = cfg.target;
    this.#token = cfg.token;
    const common = { keepAlive: true, timeout: IDLE_MS, maxSockets: 16, maxFreeSockets: 4 };
    if (cfg.target.kind === 'https') {
      this.#lib = https;
      this.#agent = new https.Agent({ ...common, ca: cfg.ca, minVersion: 'TLSv1.2' });
    } else {
      this.#lib = http;
      this.#agent = new http.Agent(common);
    }
  }

  get url() {
    return this.#target.display;
  }

  close() {
    this.#agent.destroy();
  }

  // Resolves to { status, body, requestId } for a 2xx answer; anything
  // else rejects with a RunToolsError.
  async request(method, path, { query, body, signal, timeoutMs, retry } = {}) {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body), 'utf8');
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#once(method, this.#target.prefix + path + queryString(query),
            payload, signal, timeoutMs);
        } catch (err) {
          if (attempt > 0 || !err[STALE] || !(retry ?? method === 'GET'))
            throw err;
        }
      }
    } finally {
      wipe(payload);
    }
  }

  #options(method, path, payload) {
    const headers = {
      Accept: 'application/json',
      'User-Agent': `runtools-js/${VERSION}`,
    };
    if (this.#token !== undefined)
      headers.Authorization = `Bearer ${this.#token}`;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const t = this.#target;
    const o = { method, path, headers, agent: this.#agent };
    if (t.kind === 'unix') {
      o.socketPath = t.socketPath;
      o.host = 'localhost';
    } else {
      o.host = t.hostname;
      o.port = t.port;
    }
    return o;
  }

  #once(method, path, payload, signal, timeoutMs) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer;
      let req;
      const chunks = [];
      const done = (fn, v) => {
        if (settled)
          return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn(v);
      };
      const fail = (err) => {
        done(reject, err);
        req?.destroy();
        for (const c of chunks)
          wipe(c);
      };
      const onAbort = () => {
        const reason = signal.reason;
        fail(isTimeoutReason(reason)
          ? new RunToolsError(`${method} ${path}: timed out`, { code: CLIENT_CODES.TIMEOUT, cause: reason })
          : new RunToolsError(`${method} ${path}: aborted`, { code: CLIENT_CODES.ABORTED, cause: reason }));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0)
        timer = setTimeout(() => fail(new RunToolsError(
          `${method} ${path}: no answer within ${timeoutMs} ms`, { code: CLIENT_CODES.TIMEOUT })), timeoutMs);

      try {
        req = this.#lib.request(this.#options(method, path, payload));
      } catch (err) {
        fail(new RunToolsError(`${method} ${path}: ${err.message}`, { code: CLIENT_CODES.NETWORK, cause: err }));
        return;
      }
      let answered = false;
      req.on('error', (err) => {
        if (settled)
          return;
        const e = new RunToolsError(`${method} ${path} at ${this.url}: ${err.message}`,
          { code: CLIENT_CODES.NETWORK, cause: err });
        if (!answered && staleConnection(req, err))
          e[STALE] = true;
        fail(e);
      });
      req.on('response', (res) => {
        answered = true;
        let size = 0;
        const requestId = typeof res.headers['x-request-id'] === 'string' ? res.headers['x-request-id'] : null;
        res.on('data', (c) => {
          size += c.length;
          chunks.push(c);
          if (size > MAX_RESPONSE)
            fail(new RunToolsError(`${method} ${path}: the answer is over ${MAX_RESPONSE} bytes`,
              { status: res.statusCode, code: CLIENT_CODES.INVALID_RESPONSE, requestId }));
        });
        res.on('aborted', () => fail(new RunToolsError(`${method} ${path}: the connection closed mid-answer`,
          { code: CLIENT_CODES.NETWORK, requestId })));
        res.on('error', (err) => fail(new RunToolsError(`${method} ${path}: ${err.message}`,
          { code: CLIENT_CODES.NETWORK, cause: err, requestId })));
        res.on('end', () => {
          if (settled)
            return;
          const raw = Buffer.concat(chunks, size);
          for (const c of chunks)
            wipe(c);
          let body;
          try {
            body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
          } catch {
            body = undefined;
          } finally {
            wipe(raw);
          }
          const status = res.statusCode;
          if (status < 200 || status > 299) {
            done(reject, errorFromResponse(status, body, requestId));
            return;
          }
          if (body === null || typeof body !== 'object') {
            done(reject, new RunToolsError(`${method} ${path}: the answer is not a JSON object`,
              { status, code: CLIENT_CODES.INVALID_RESPONSE, requestId }));
            return;
          }
          done(resolve, { status, body, requestId });
        });
      });
      req.end(payload ?? undefined);
    });
  }
}
