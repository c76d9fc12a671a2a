// Type declarations for the runtools package (the secretd / RunTools
// secrets API client).

export declare const VERSION: string;

/** Codes of failures that never got an answer from the API (status 0). */
export declare const CLIENT_CODES: Readonly<{
  NETWORK: 'network_error';
  TIMEOUT: 'timeout';
  ABORTED: 'aborted';
  INVALID_RESPONSE: 'invalid_response';
  INVALID_CONFIG: 'invalid_config';
}>;

export type ApiErrorCode =
  | 'invalid_request' | 'unauthenticated' | 'forbidden' | 'not_found'
  | 'method_not_allowed' | 'too_large' | 'unsupported_media_type'
  | 'rate_limited' | 'quota_exceeded' | 'internal' | 'unavailable';
export type ClientErrorCode = (typeof CLIENT_CODES)[keyof typeof CLIENT_CODES];

/** Every failure: an API refusal (status >= 400) or a client-side one (status 0). */
export declare class RunToolsError extends Error {
  constructor(message: string, init?: { status?: number; code?: string; requestId?: string | null; cause?: unknown });
  readonly name: 'RunToolsError';
  /** HTTP status; 0 when no answer came (network, timeout, abort, configuration). */
  status: number;
  /** The API's error code, or one of CLIENT_CODES. */
  code: ApiErrorCode | ClientErrorCode | (string & {});
  /** The request id the daemon logged and audited, when it answered. */
  requestId: string | null;
  toJSON(): { name: string; status: number; code: string; message: string; requestId: string | null };
}

export interface RunToolsOptions {
  /** `unix:/path/to.sock`, `https://host[:port][/prefix]`, or `http://` to loopback. Default: RUNTOOLS_URL, else unix:/run/secretd/secretd.sock. */
  url?: string;
  /** Bearer token; default RUNTOOLS_TOKEN, else the file in tokenFile / RUNTOOLS_TOKEN_FILE, else ~/.config/runtools/token if present. null: none. */
  token?: string | null;
  /** A file holding the token, mode 0600 (or stricter) and owned by the caller. */
  tokenFile?: string;
  /** PEM file of the CA that signed the server's certificate (replaces the system's trust); default RUNTOOLS_CA_FILE. */
  caFile?: string;
  /** The CA certificates themselves, instead of caFile. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Per-request time limit in ms (default 30000; 0: none). */
  timeoutMs?: number;
  /** Time limit of tools.execute in ms (default 310000; 0: none). */
  toolTimeoutMs?: number;
}

export interface RequestOptions {
  /** Aborts the request: RunToolsError code 'aborted', or 'timeout' for AbortSignal.timeout(). */
  signal?: AbortSignal;
  /** This request's time limit in ms; 0: none. */
  timeoutMs?: number;
}

export type SecretCategory = 'provider' | 'tool' | 'agent' | 'workflow' | 'custom';
export type SecretScope = 'user' | 'org';

/** A secret's metadata; never its value. */
export interface SecretMeta {
  name: string;
  scope: SecretScope;
  /** null for an org secret */
  userId: string | null;
  orgId: string;
  category: SecretCategory;
  description: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
  /** The expiry (a reminder to rotate, never enforced), present only when set. */
  expiresAt?: string;
}

export interface RevealedSecret extends SecretMeta {
  /** The value as text when its bytes are UTF-8, else null. */
  value: string | null;
  /** The value's bytes, always. */
  valueBytes: Buffer;
}

/** A value: text (sent as "value") or any bytes (sent as "valueBase64"). */
export type SecretValue = string | Uint8Array;

export interface SetResult extends SecretMeta {
  /** true when the name was new (HTTP 201), false when it was rotated. */
  created: boolean;
}

export type SecretPage = { secrets: SecretMeta[]; nextCursor: string | null };
export type TokenPage = { tokens: TokenMeta[]; nextCursor: string | null };
export type ToolPage = { tools: ToolInfo[]; nextCursor: string | null };

/** Await it for the first page; iterate it (for await) for every item across pages. */
export interface PagedList<P, T> extends PromiseLike<P>, AsyncIterable<T> {
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<P | R>;
  finally(onFinally?: (() => void) | null): Promise<P>;
  /** Every page in turn, following nextCursor. */
  pages(): AsyncIterableIterator<P>;
  /** Every item of every page in one array. */
  all(): Promise<T[]>;
}

export interface ListSecretsOptions extends RequestOptions {
  category?: SecretCategory;
  secretScope?: SecretScope;
  /** Only names starting with this. */
  prefix?: string;
  /** Admins: every user's secrets and the org's. */
  all?: boolean;
  /** Admins: this user's secrets. */
  userId?: string;
  /** Page size, 1 to 1000 (default 100). */
  limit?: number;
  cursor?: string;
}

export interface SetSecretOptions extends RequestOptions {
  category?: SecretCategory;
  description?: string;
  /** 'YYYY-MM-DD', 'YYYY-MM-DDTHH:MM:SSZ' or a Date; null clears it; left out: kept. */
  expiresAt?: string | Date | null;
  /** The org's secret of that name (admins). */
  orgWide?: boolean;
  /** Admins: that user's secret. */
  userId?: string;
}

export interface GetSecretOptions extends RequestOptions {
  /** Include the value (POST …/reveal), when policy allows. */
  reveal?: boolean;
  /** With reveal: that kept version's value instead of the current one. */
  version?: number;
  orgWide?: boolean;
  userId?: string;
}

export interface DeleteSecretOptions extends RequestOptions {
  orgWide?: boolean;
  userId?: string;
}

export interface DeleteResult {
  deleted: true;
  name: string;
  scope: SecretScope;
}

export interface SecretVersion {
  version: number;
  createdAt: string;
  /** Who wrote this version. */
  createdBy: string;
  current: boolean;
}

export interface SecretVersions {
  name: string;
  scope: SecretScope;
  userId: string | null;
  /** Newest (the current one) first. */
  versions: SecretVersion[];
}

export interface VersionOptions extends RequestOptions {
  orgWide?: boolean;
  userId?: string;
}

export interface Secrets {
  list(options?: ListSecretsOptions): PagedList<SecretPage, SecretMeta>;
  set(name: string, value: SecretValue, options?: SetSecretOptions): Promise<SetResult>;
  set(secret: { name: string; value: SecretValue } & SetSecretOptions): Promise<SetResult>;
  /** A new value for an existing secret; 404 not_found when there is none. */
  rotate(name: string, value: SecretValue, options?: SetSecretOptions): Promise<SetResult>;
  get(name: string, options: GetSecretOptions & { reveal: true }): Promise<RevealedSecret>;
  get(name: string, options?: GetSecretOptions & { reveal?: false }): Promise<SecretMeta>;
  get(name: string, options?: GetSecretOptions): Promise<SecretMeta | RevealedSecret>;
  delete(name: string, options?: DeleteSecretOptions): Promise<DeleteResult>;
  /** The kept versions, metadata only. */
  versions(name: string, options?: VersionOptions): Promise<SecretVersions>;
  /** Makes a kept version's value current again as a new version (409 conflict for the current one). */
  rollback(name: string, version: number, options?: VersionOptions): Promise<SecretMeta>;
}

export interface TokenMeta {
  id: string;
  userId: string;
  orgId: string;
  role: 'member' | 'admin';
  description: string;
  createdAt: string;
  /** null: never expires */
  expiresAt: string | null;
  /** e.g. ["tools:custom-crm"]; null: unscoped */
  scopes: string[] | null;
}

export interface CreatedToken extends TokenMeta {
  /** The bearer token, shown this once. */
  token: string;
}

export interface CreateTokenOptions extends RequestOptions {
  description?: string;
  /** admin only for admins; default member */
  role?: 'member' | 'admin';
  /** Lifetime in seconds; default: no expiry. */
  ttlSeconds?: number;
  /** "tools:NAME" or "tools:*": a token that may only list, show and run those tools. */
  scopes?: string[];
}

export interface PageOptions extends RequestOptions {
  limit?: number;
  cursor?: string;
}

export interface Tokens {
  create(options?: CreateTokenOptions): Promise<CreatedToken>;
  list(options?: PageOptions): PagedList<TokenPage, TokenMeta>;
  /** By id, by the metadata of a token, or by the token string itself. */
  revoke(token: string | { id: string }, options?: RequestOptions): Promise<{ revoked: true; id: string }>;
}

export interface ToolParam {
  name: string;
  type: 'string' | 'number' | 'boolean';
  required: boolean;
  in: 'path' | 'query' | 'body' | 'stdin';
}

export interface ToolInfo {
  name: string;
  description: string;
  type: 'http' | 'exec';
  allow: 'members' | 'admins';
  timeoutMs: number;
  actions: Array<{ name: string; description: string; params: ToolParam[] }>;
  credentials: Array<{ slot: string; defaultSecret: string }>;
}

export type CredentialOverride = string | { name: string; orgWide?: boolean };

export interface ExecuteRequest {
  action: string;
  params?: Record<string, string | number | boolean>;
  /** slot -> secret name (the caller's own, else the org's), or { name, orgWide: true } for the org's. */
  credentialOverrides?: Record<string, CredentialOverride>;
}

export interface ExecuteResult {
  tool: string;
  action: string;
  /** false when the tool ran and failed (the call itself succeeded). */
  ok: boolean;
  /** The tool's answer with every credential value redacted. */
  result: unknown;
  /** HTTP status of an http tool. */
  status?: number;
  /** Exit code of an exec tool. */
  exitCode?: number;
  /** Standard error of an exec tool. */
  stderr?: string;
  durationMs: number;
  credentials: Array<{ slot: string; name: string; scope: SecretScope; version: number }>;
  redactions: number;
}

export interface Tools {
  list(options?: PageOptions): PagedList<ToolPage, ToolInfo>;
  get(tool: string, options?: RequestOptions): Promise<ToolInfo>;
  execute(tool: string, request: ExecuteRequest & RequestOptions, options?: RequestOptions): Promise<ExecuteResult>;
}

export declare class RunTools {
  constructor(options?: RunToolsOptions);
  readonly secrets: Secrets;
  readonly tokens: Tokens;
  readonly tools: Tools;
  /** The server, without credentials. */
  readonly url: string;
  health(options?: RequestOptions): Promise<{ status: 'ok' }>;
  /** Closes idle keep-alive connections (they never keep the process alive). */
  close(): void;
}

export default RunTools;
