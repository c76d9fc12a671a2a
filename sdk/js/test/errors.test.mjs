// The client's own failures: a bad token, no server, timeouts and aborts,
// token files others can read, tokens over plain http, bad URLs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RunTools, RunToolsError, CLIENT_CODES } from 'runtools';
import { MODE, rejects } from './common.mjs';

const rt = new RunTools();
after(() => rt.close());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdkjs-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// withEnv(vars, fn): fn with these environment variables (undefined: unset).
async function withEnv(vars, fn) {
  const saved = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined)
      delete process.env[k];
    else
      process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined)
        delete process.env[k];
      else
        process.env[k] = v;
  }
}

function configError(fn, re) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof RunToolsError, `expected a RunToolsError, got ${err}`);
  assert.equal(err.status, 0);
  assert.equal(err.code, CLIENT_CODES.INVALID_CONFIG);
  assert.equal(err.requestId, null);
  if (re)
    assert.match(err.message, re);
  return err;
}

test('a bad token is 401 unauthenticated', async () => {
  const bad = new RunTools({ token: `rts_0123456789abcdef_${'A'.repeat(43)}` });
  try {
    const e = await rejects(bad.secrets.list(), 401, 'unauthenticated');
    assert.deepEqual(Object.keys(e.toJSON()).sort(), ['code', 'message', 'name', 'requestId', 'status']);
  } finally {
    bad.close();
  }
});

test('an unreachable server is network_error (status 0)', async () => {
  const gone = new RunTools({ url: `unix:${tmp}/no-such.sock`, token: null });
  const e1 = await rejects(gone.health(), 0, 'network_error');
  assert.equal(e1.cause?.code, 'ENOENT');
  assert.equal(e1.requestId, null);
  const port = process.env.SDK_CLOSED_PORT;
  if (port) {
    const closed = new RunTools({ url: `https://127.0.0.1:${port}`, token: null });
    const e2 = await rejects(closed.health(), 0, 'network_error');
    assert.equal(e2.cause?.code, 'ECONNREFUSED');
  }
});

test('timeout: a slow tool execution cut by AbortSignal.timeout and by timeoutMs', async () => {
  let t0 = Date.now();
  const e = await rejects(rt.tools.execute('slowcrm', { action: 'slow', params: { s: 2 } },
    { signal: AbortSignal.timeout(300) }), 0, 'timeout');
  assert.equal(e.cause?.name, 'TimeoutError');
  assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
  t0 = Date.now();
  await rejects(rt.tools.execute('slowcrm', { action: 'slow', params: { s: 2 }, timeoutMs: 300 }), 0, 'timeout');
  assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
  assert.deepEqual(await rt.health(), { status: 'ok' }, 'the client still works');
});

test('abort: an AbortController stops a request; an aborted signal sends nothing', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 200);
  await rejects(rt.tools.execute('slowcrm', { action: 'slow', params: { s: 2 } }, { signal: ac.signal }), 0, 'aborted');
  assert.ok(Date.now() - t0 < 1500);
  await rejects(rt.secrets.list({ signal: ac.signal }), 0, 'aborted');
  await rejects(rt.health({ signal: AbortSignal.abort() }), 0, 'aborted');
  assert.deepEqual(await rt.health(), { status: 'ok' });
});

test('timeout: a server that accepts and never answers', async () => {
  const conns = [];
  const server = net.createServer((c) => conns.push(c));
  const sock = path.join(tmp, 'silent.sock');
  await new Promise((r) => server.listen(sock, r));
  try {
    const silent = new RunTools({ url: `unix:${sock}`, token: null, timeoutMs: 200 });
    await rejects(silent.health(), 0, 'timeout');
    await rejects(silent.health({ timeoutMs: 100 }), 0, 'timeout');
    silent.close();
  } finally {
    conns.forEach((c) => c.destroy());
    server.close();
  }
});

test('a token file others can read is refused; 0600 is used', async () => {
  const file = path.join(tmp, 'token');
  const token = process.env.RUNTOOLS_TOKEN ?? `rts_0123456789abcdef_${'B'.repeat(43)}`;
  fs.writeFileSync(file, `${token}\n`, { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  configError(() => new RunTools({ tokenFile: file }), /mode 0644.*refusing/);
  await withEnv({ RUNTOOLS_TOKEN: undefined, RUNTOOLS_TOKEN_FILE: file }, () =>
    configError(() => new RunTools(), /mode 0644/));
  fs.chmodSync(file, 0o640);
  configError(() => new RunTools({ tokenFile: file }), /mode 0640/);
  fs.chmodSync(file, 0o600);
  await withEnv({ RUNTOOLS_TOKEN: undefined, RUNTOOLS_TOKEN_FILE: file }, async () => {
    const ok = new RunTools();
    try {
      if (MODE === 'tls') {
        const r = await ok.secrets.list();
        assert.ok(Array.isArray(r.secrets), 'the token from the 0600 file works over TLS');
      } else {
        assert.deepEqual(await ok.health(), { status: 'ok' });
      }
    } finally {
      ok.close();
    }
  });
  configError(() => new RunTools({ tokenFile: path.join(tmp, 'missing') }), /missing/);
});

test('a token is never sent over plain http:// except to loopback', async () => {
  const t = `rts_0123456789abcdef_${'C'.repeat(43)}`;
  configError(() => new RunTools({ url: 'http://192.0.2.1:8080', token: t }), /plain http/);
  configError(() => new RunTools({ url: 'http://secrets.example.com', token: t }), /plain http/);
  await withEnv({ RUNTOOLS_URL: 'http://192.0.2.1', RUNTOOLS_TOKEN: t, RUNTOOLS_TOKEN_FILE: undefined }, () =>
    configError(() => new RunTools(), /plain http/));
  for (const url of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080'])
    new RunTools({ url, token: t }).close();
  new RunTools({ url: 'http://192.0.2.1:8080', token: null }).close();
});

test('bad URLs and CA files are invalid_config', async () => {
  for (const url of ['ftp://127.0.0.1', 'unix:', '127.0.0.1:8443', 'https://user:pw@127.0.0.1', 'https://127.0.0.1/?a=b'])
    configError(() => new RunTools({ url, token: null }), /invalid URL/);
  configError(() => new RunTools({ url: 'https://127.0.0.1:1', caFile: path.join(tmp, 'no-ca.pem'), token: null }), /CA file/);
  assert.throws(() => new RunTools({ timeoutMs: -1 }), TypeError);
});

// Over TLS only: the certificate is checked against the CA file of
// RUNTOOLS_CA_FILE (or caFile), else the system's, which does not know it.
async function caChecked() {
  await withEnv({ RUNTOOLS_CA_FILE: undefined }, async () => {
    const untrusted = new RunTools();
    const e = await rejects(untrusted.health(), 0, 'network_error');
    assert.match(String(e.cause?.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    untrusted.close();
  });
  const trusted = new RunTools({ caFile: process.env.RUNTOOLS_CA_FILE });
  assert.deepEqual(await trusted.health(), { status: 'ok' });
  trusted.close();
}
if (MODE === 'tls')
  test('TLS: the server certificate is checked against the CA file (RUNTOOLS_CA_FILE)', caChecked);
