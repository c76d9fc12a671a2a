// The secretd / RunTools secrets API for Node.js: a thin layer over the
// HTTP API that holds no value longer than the caller does.
//
//   import { RunTools } from 'runtools';
//   const rt = new RunTools();

import { resolveConfig } from './config.js';
import { Transport, VERSION } from './transport.js';
import { RunToolsError, CLIENT_CODES } from './errors.js';

export { RunToolsError, CLIENT_CODES, VERSION };

const REQUEST_OPTIONS = ['signal', 'timeoutMs'];
const SET_OPTIONS = ['category', 'description', 'expiresAt', 'orgWide', 'userId'];
// The client's own request function and tool timeout, out of the public surface.
const REQUEST = Symbol('request');
const TOOL_TIMEOUT = Symbol('toolTimeoutMs');

// Options as given, refusing keys this call does not know (a misspelt
// orgWide would otherwise quietly act on the user's own secret).
function options(opts, allowed, call) {
  if (opts === undefined || opts === null)
    return {};
  if (typeof opts !== 'object')
    throw new TypeError(`${call}: options must be an object`);
  for (const k of Object.keys(opts))
    if (!allowed.includes(k) && !REQUEST_OPTIONS.includes(k))
      throw new TypeError(`${call}: unknown option '${k}'`);
  if (opts.signal !== undefined && (opts.signal === null || typeof opts.signal.aborted !== 'boolean'))
    throw new TypeError(`${call}: signal must be an AbortSignal`);
  return opts;
}

function nameArg(v, what, call) {
  if (typeof v !== 'string' || v === '')
    throw new TypeError(`${call}: ${what} must be a non-empty string`);
  return encodeURIComponent(v);
}

// A value as the body carries it: a string as "value", bytes (a Buffer
// or any Uint8Array) as "valueBase64".
function valueArg(v, call) {
  if (typeof v === 'string')
    return { value: v };
  if (v instanceof Uint8Array)
    return { valueBase64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  throw new TypeError(`${call}: the value must be a string, a Buffer or a Uint8Array`);
}

// expiresAt as the API takes it: 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SSZ'
// as given, a Date in UTC to the second, null to clear the expiry.
function expiresArg(v, call) {
  if (v === null || typeof v === 'string')
    return v;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime()))
      throw new TypeError(`${call}: expiresAt is an invalid Date`);
    return v.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  throw new TypeError(`${call}: expiresAt must be a string, a Date or null`);
}

// A kept version: a whole number from 1 to 2^32 - 1.
function versionArg(v, call) {
  if (!Number.isInteger(v) || v < 1 || v > 0xffffffff)
    throw new TypeError(`${call}: version must be a whole number from 1 to 4294967295`);
  return v;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// A reveal's answer: valueBytes always; value the text when the bytes
// are UTF-8 (the server sends NUL-holding text as valueBase64), else null.
function revealed(body) {
  const { valueBase64, ...rest } = body;
  let bytes;
  if (typeof rest.value === 'string')
    bytes = Buffer.from(rest.value, 'utf8');
  else if (typeof valueBase64 === 'string')
    bytes = Buffer.from(valueBase64, 'base64');
  else
    throw new RunToolsError('the reveal answer has no value', { code: CLIENT_CODES.INVALID_RESPONSE });
  if (typeof rest.value !== 'string') {
    try {
      rest.value = UTF8.decode(bytes);
    } catch {
      rest.value = null;
    }
  }
  rest.valueBytes = bytes;
  return rest;
}

// A list call: awaiting it gives the first page, iterating it with
// for await gives every item across pages, following nextCursor.
class PagedList {
  #fetch;
  #key;
  #cursor;
  #first;

  constructor(fetch, key, cursor) {
    this.#fetch = fetch;
    this.#key = key;
    this.#cursor = cursor;
  }

  #firstPage() {
    this.#first ??= this.#fetch(this.#cursor);
    return this.#first;
  }

  then(onFulfilled, onRejected) {
    return this.#firstPage().then(onFulfilled, onRejected);
  }

  catch(onRejected) {
    return this.#firstPage().catch(onRejected);
  }

  finally(onFinally) {
    return this.#firstPage().finally(onFinally);
  }

  async *pages() {
    let page = await this.#firstPage();
    const seen = new Set();
    for (;;) {
      yield page;
      const next = page.nextCursor;
      if (next === null || next === undefined || next === '')
        return;
      if (seen.has(next))
        throw new RunToolsError('the server repeated a list cursor',
          { code: CLIENT_CODES.INVALID_RESPONSE });
      seen.add(next);
      page = await this.#fetch(next);
    }
  }

  async *[Symbol.asyncIterator]() {
    for await (const page of this.pages())
      yield* page[this.#key];
  }

  // Every item of every page, in one array.
  async all() {
    const items = [];
    for await (const item of this)
      items.push(item);
    return items;
  }
}

function pageOf(body, key) {
  if (!Array.isArray(body[key]))
    throw new RunToolsError(`the answer has no ${key} list`, { code: CLIENT_CODES.INVALID_RESPONSE });
  return body;
}

class Secrets {
  #rt;

  constructor(rt) {
    this.#rt = rt;
  }

  // GET /v1/secrets: metadata only, never a value.
  list(opts) {
    const o = options(opts, ['category', 'secretScope', 'prefix', 'all', 'userId', 'limit', 'cursor'], 'secrets.list');
    const fetch = async (cursor) => pageOf((await this.#rt[REQUEST]('GET', '/v1/secrets', o, {
      category: o.category, secretScope: o.secretScope, prefix: o.prefix, all: o.all ? 'true' : undefined,
      user_id: o.userId, limit: o.limit, cursor,
    })).body, 'secrets');
    return new PagedList(fetch, 'secrets', o.cursor);
  }

  // POST /v1/secrets: creates NAME, or rotates it when it exists.
  // set(name, value, { category, description, expiresAt, orgWide, userId })
  // or set({ name, value, ... }).  value: a string, or bytes (a Buffer or
  // Uint8Array).
  async set(name, value, opts) {
    if (name !== null && typeof name === 'object') {
      const { name: n, value: v, ...rest } = name;
      return this.set(n, v, rest);
    }
    const o = options(opts, SET_OPTIONS, 'secrets.set');
    nameArg(name, 'the name', 'secrets.set');
    const body = { name, ...valueArg(value, 'secrets.set') };
    if (o.category !== undefined)
      body.category = o.category;
    if (o.description !== undefined)
      body.description = o.description;
    if (o.expiresAt !== undefined)
      body.expiresAt = expiresArg(o.expiresAt, 'secrets.set');
    if (o.orgWide)
      body.orgWide = true;
    const r = await this.#rt[REQUEST]('POST', '/v1/secrets', o, { user_id: o.userId }, body);
    return { ...r.body, created: r.status === 201 };
  }

  // A new value behind an existing name; a missing secret is 404, never
  // created.
  async rotate(name, value, opts) {
    const o = options(opts, SET_OPTIONS, 'secrets.rotate');
    valueArg(value, 'secrets.rotate');
    if (o.expiresAt !== undefined)
      expiresArg(o.expiresAt, 'secrets.rotate');
    await this.get(name, { orgWide: o.orgWide, userId: o.userId, signal: o.signal, timeoutMs: o.timeoutMs });
    return this.set(name, value, o);
  }

  // GET /v1/secrets/{name}: metadata; with reveal: true,
  // POST /v1/secrets/{name}/reveal: metadata, valueBytes and value; with
  // version: N too, that kept version's.
  async get(name, opts) {
    const o = options(opts, ['reveal', 'version', 'orgWide', 'userId'], 'secrets.get');
    const n = nameArg(name, 'the name', 'secrets.get');
    const query = { orgWide: o.orgWide ? 'true' : undefined, user_id: o.userId };
    if (o.version !== undefined) {
      if (!o.reveal)
        throw new TypeError('secrets.get: version needs reveal: true (see secrets.versions)');
      query.version = versionArg(o.version, 'secrets.get');
    }
    if (o.reveal)
      return revealed((await this.#rt[REQUEST]('POST', `/v1/secrets/${n}/reveal`, { ...o, retry: true }, query)).body);
    return (await this.#rt[REQUEST]('GET', `/v1/secrets/${n}`, o, query)).body;
  }

  // GET /v1/secrets/{name}/versions: { name, scope, userId, versions:
  // [{ version, createdAt, createdBy, current }] }, newest first; never a value.
  async versions(name, opts) {
    const o = options(opts, ['orgWide', 'userId'], 'secrets.versions');
    const n = nameArg(name, 'the name', 'secrets.versions');
    return (await this.#rt[REQUEST]('GET', `/v1/secrets/${n}/versions`, o,
      { orgWide: o.orgWide ? 'true' : undefined, user_id: o.userId })).body;
  }

  // POST /v1/secrets/{name}/rollback: kept version's value becomes a new
  // version, copied on the server; the new version's metadata.
  async rollback(name, version, opts) {
    const o = options(opts, ['orgWide', 'userId'], 'secrets.rollback');
    const n = nameArg(name, 'the name', 'secrets.rollback');
    const body = { version: versionArg(version, 'secrets.rollback') };
    return (await this.#rt[REQUEST]('POST', `/v1/secrets/${n}/rollback`, o,
      { orgWide: o.orgWide ? 'true' : undefined, user_id: o.userId }, body)).body;
  }

  // DELETE /v1/secrets/{name}: { deleted: true, name, scope }.
  async delete(name, opts) {
    const o = options(opts, ['orgWide', 'userId'], 'secrets.delete');
    const n = nameArg(name, 'the name', 'secrets.delete');
    return (await this.#rt[REQUEST]('DELETE', `/v1/secrets/${n}`, o,
      { orgWide: o.orgWide ? 'true' : undefined, user_id: o.userId })).body;
  }
}

class Tokens {
  #rt;

  constructor(rt) {
    this.#rt = rt;
  }

  // POST /v1/tokens: the token string is in .token, shown this once.
  async create(opts) {
    const o = options(opts, ['description', 'role', 'ttlSeconds', 'scopes'], 'tokens.create');
    const body = {};
    for (const k of ['description', 'role', 'ttlSeconds', 'scopes'])
      if (o[k] !== undefined)
        body[k] = o[k];
    return (await this.#rt[REQUEST]('POST', '/v1/tokens', o, undefined, body)).body;
  }

  list(opts) {
    const o = options(opts, ['limit', 'cursor'], 'tokens.list');
    const fetch = async (cursor) => pageOf((await this.#rt[REQUEST]('GET', '/v1/tokens', o,
      { limit: o.limit, cursor })).body, 'tokens');
    return new PagedList(fetch, 'tokens', o.cursor);
  }

  // DELETE /v1/tokens/{id}; takes the id, a token's metadata or the
  // token string itself (rts_<id>_...).
  async revoke(id, opts) {
    const o = options(opts, [], 'tokens.revoke');
    let v = id !== null && typeof id === 'object' ? id.id : id;
    if (typeof v === 'string' && v.startsWith('rts_'))
      v = v.split('_')[1];
    return (await this.#rt[REQUEST]('DELETE', `/v1/tokens/${nameArg(v, 'the token id', 'tokens.revoke')}`, o)).body;
  }
}

class Tools {
  #rt;

  constructor(rt) {
    this.#rt = rt;
  }

  list(opts) {
    const o = options(opts, ['limit', 'cursor'], 'tools.list');
    const fetch = async (cursor) => pageOf((await this.#rt[REQUEST]('GET', '/v1/tools', o,
      { limit: o.limit, cursor })).body, 'tools');
    return new PagedList(fetch, 'tools', o.cursor);
  }

  async get(tool, opts) {
    const o = options(opts, [], 'tools.get');
    return (await this.#rt[REQUEST]('GET', `/v1/tools/${nameArg(tool, 'the tool', 'tools.get')}`, o)).body;
  }

  // POST /v1/tools/{tool}/execute: the daemon resolves each credential
  // slot and runs the tool; the answer names the secrets used, never a
  // value.  A tool that ran and failed is { ok: false }, not an error.
  async execute(tool, request, opts) {
    const call = 'tools.execute';
    const t = nameArg(tool, 'the tool', call);
    if (request === null || typeof request !== 'object')
      throw new TypeError(`${call}: the request must be an object with an action`);
    const { action, params, credentialOverrides, ...rest } = request;
    const o = options({ ...rest, ...(opts ?? {}) }, [], call);
    if (typeof action !== 'string' || action === '')
      throw new TypeError(`${call}: action must be a non-empty string`);
    const body = { action };
    if (params !== undefined)
      body.params = params;
    if (credentialOverrides !== undefined)
      body.credentialOverrides = credentialOverrides;
    return (await this.#rt[REQUEST]('POST', `/v1/tools/${t}/execute`,
      { ...o, timeoutMs: o.timeoutMs ?? this.#rt[TOOL_TIMEOUT] }, undefined, body)).body;
  }
}

export class RunTools {
  #transport;
  #timeoutMs;
  #toolTimeoutMs;

  constructor(opts = {}) {
    const cfg = resolveConfig(opts ?? {});
    this.#transport = new Transport(cfg);
    this.#timeoutMs = cfg.timeoutMs;
    this.#toolTimeoutMs = cfg.toolTimeoutMs;
    this.secrets = new Secrets(this);
    this.tokens = new Tokens(this);
    this.tools = new Tools(this);
  }

  // The server this client talks to, without any credential.
  get url() {
    return this.#transport.url;
  }

  // GET /v1/health: { status: 'ok' }; 503 when the daemon cannot serve.
  async health(opts) {
    const o = options(opts, [], 'health');
    return (await this[REQUEST]('GET', '/v1/health', o)).body;
  }

  // Closes the idle keep-alive connections.
  close() {
    this.#transport.close();
  }

  get [TOOL_TIMEOUT]() {
    return this.#toolTimeoutMs;
  }

  [REQUEST](method, path, o, query, body) {
    return this.#transport.request(method, path, {
      query, body, signal: o.signal, timeoutMs: o.timeoutMs ?? this.#timeoutMs, retry: o.retry,
    });
  }
}

export default RunTools;
