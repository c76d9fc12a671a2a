// Where to connect and as whom, resolved the way runtools does it: the
// constructor's options first, then RUNTOOLS_URL, RUNTOOLS_TOKEN,
// RUNTOOLS_TOKEN_FILE and RUNTOOLS_CA_FILE.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunToolsError, CLIENT_CODES } from './errors.js';

// The socket of a system install (./configure --runstatedir=/run).
export const DEFAULT_URL = 'unix:/run/secretd/secretd.sock';
export const DEFAULT_TIMEOUT_MS = 30_000;
// A tool may run for up to 300 s; the daemon answers by then.
export const DEFAULT_TOOL_TIMEOUT_MS = 310_000;
const TOKEN_MAX = 4096;

function configError(message) {
  return new RunToolsError(message, { code: CLIENT_CODES.INVALID_CONFIG });
}

function nonEmpty(v) {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

// Printable ASCII only: a token goes into a header line as it is.
function checkToken(token, from) {
  if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX ||
      !/^[\x21-\x7e]+$/.test(token))
    throw configError(`${from} does not hold a token`);
  return token;
}

function isLoopback(hostname) {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

// "unix:/path", "https://host[:port][/prefix]" or, without a token or to a
// loopback address only, "http://host[:port][/prefix]".
export function parseUrl(url) {
  if (typeof url !== 'string' || url === '')
    throw configError('no server URL');
  if (url.startsWith('unix:')) {
    const p = url.slice(5);
    if (p === '' || p.includes('\0'))
      throw configError(`invalid URL '${url}': use unix:/path/to.sock or https://host:port`);
    return { kind: 'unix', socketPath: path.resolve(p), prefix: '', display: `unix:${path.resolve(p)}` };
  }
  let u;
  try {
    u = new URL(url);
  } catch {
    throw configError(`invalid URL '${url}': use unix:/path/to.sock or https://host:port`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password ||
      u.search || u.hash || !u.hostname)
    throw configError(`invalid URL '${url}': use unix:/path/to.sock or https://host:port`);
  const kind = u.protocol === 'https:' ? 'https' : 'http';
  return {
    kind,
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : kind === 'https' ? 443 : 80,
    prefix: u.pathname.replace(/\/+$/, ''),
    loopback: isLoopback(u.hostname),
    display: `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`,
  };
}

// A token from a file only its owner, the caller, can read (mode 0600 or
// stricter).  A missing file is an error only when it was asked for.
export function readTokenFile(file, required) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOCTTY);
  } catch (err) {
    if (err.code === 'ENOENT' && !required)
      return undefined;
    throw configError(`token file ${file}: ${err.message}`);
  }
  let buf;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile())
      throw configError(`token file ${file} is not a regular file`);
    if (typeof process.geteuid === 'function' && st.uid !== process.geteuid())
      throw configError(`token file ${file} is not owned by you; refusing to use it`);
    if ((st.mode & 0o077) !== 0)
      throw configError(`token file ${file} has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} ` +
        `and can be read by others; refusing to use it (run: chmod 600 ${file})`);
    if (st.size > TOKEN_MAX)
      throw configError(`token file ${file} does not hold a token`);
    buf = Buffer.alloc(TOKEN_MAX + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return checkToken(buf.toString('latin1', 0, n).trim(), `token file ${file}`);
  } finally {
    if (buf)
      buf.fill(0);
    fs.closeSync(fd);
  }
}

function homeDir(env) {
  if (nonEmpty(env.HOME))
    return env.HOME;
  try {
    return os.userInfo().homedir;
  } catch {
    return undefined;
  }
}

// options.token, else the file options.tokenFile, else RUNTOOLS_TOKEN, else
// the file RUNTOOLS_TOKEN_FILE, else ~/.config/runtools/token when it
// exists.  token: null means none at all.
function resolveToken(options, env) {
  if (options.token === null)
    return undefined;
  if (options.token !== undefined)
    return checkToken(options.token, 'the token option');
  if (nonEmpty(options.tokenFile))
    return readTokenFile(options.tokenFile, true);
  if (nonEmpty(env.RUNTOOLS_TOKEN))
    return checkToken(env.RUNTOOLS_TOKEN, 'RUNTOOLS_TOKEN');
  if (nonEmpty(env.RUNTOOLS_TOKEN_FILE))
    return readTokenFile(env.RUNTOOLS_TOKEN_FILE, true);
  const home = homeDir(env);
  return home ? readTokenFile(path.join(home, '.config', 'runtools', 'token'), false) : undefined;
}

function timeoutOption(v, name, dflt) {
  if (v === undefined)
    return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new TypeError(`${name} must be a number of milliseconds (0: none)`);
  return v;
}

export function resolveConfig(options = {}, env = process.env) {
  if (options === null || typeof options !== 'object')
    throw new TypeError('RunTools options must be an object');
  const target = parseUrl(nonEmpty(options.url) ?? nonEmpty(env.RUNTOOLS_URL) ?? DEFAULT_URL);
  const token = resolveToken(options, env);
  if (target.kind === 'http' && token !== undefined && !target.loopback)
    throw configError(`refusing to send a token over plain http:// to ${target.hostname}; use https://`);
  let ca;
  if (options.ca !== undefined)
    ca = options.ca;
  else {
    const caFile = nonEmpty(options.caFile) ?? nonEmpty(env.RUNTOOLS_CA_FILE);
    if (caFile && target.kind === 'https') {
      try {
        ca = fs.readFileSync(caFile);
      } catch (err) {
        throw configError(`CA file ${caFile}: ${err.message}`);
      }
    }
  }
  return {
    target,
    token,
    ca,
    timeoutMs: timeoutOption(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS),
    toolTimeoutMs: timeoutOption(options.toolTimeoutMs, 'toolTimeoutMs', DEFAULT_TOOL_TIMEOUT_MS),
  };
}
