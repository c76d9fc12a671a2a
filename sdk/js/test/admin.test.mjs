// Every call of the SDK as an admin of the org, against the real daemon,
// and the documentation's JavaScript lines as printed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { RunTools, RunToolsError } from 'runtools';
import { MODE, PREFIX, ALICE, ALICE_SECRET, rejects } from './common.mjs';
import { DOC_SNIPPETS, docSnippets, readDoc, runSnippet } from './docs.mjs';

// The package's documented one-line setup.
const rt = new RunTools();
after(() => rt.close());

const n = (s) => `${PREFIX}_${s}`;
const META_KEYS = ['category', 'createdAt', 'createdBy', 'description', 'name', 'orgId',
  'scope', 'updatedAt', 'updatedBy', 'userId', 'version'];

test('health', async () => {
  assert.deepEqual(await rt.health(), { status: 'ok' });
  assert.match(rt.url, MODE === 'tls' ? /^https:\/\/127\.0\.0\.1:\d+$/ : /^unix:\//);
});

// --- the documentation's lines, each with the secrets it needs in place ---
async function docState() {
  await rt.secrets.set('ANTHROPIC_API_KEY', 'sk-ant-xxx', { category: 'provider' });
  await rt.secrets.set('SHARED_CRM_KEY', 'crm_xxx', { category: 'tool', orgWide: true });
}

test('docs: the documentation prints these JavaScript lines', (t) => {
  const doc = readDoc();
  if (doc === null) {
    t.skip('reference document not found (RUNTOOLS_DOC)');
    return;
  }
  assert.deepEqual(docSnippets(doc), DOC_SNIPPETS);
});

test("docs: const revealed = await rt.secrets.get('ANTHROPIC_API_KEY', { reveal: true })", async () => {
  await docState();
  const revealed = await runSnippet(rt, DOC_SNIPPETS[0]);
  assert.equal(revealed.value, 'sk-ant-xxx');
  assert.equal(revealed.name, 'ANTHROPIC_API_KEY');
  assert.equal(revealed.scope, 'user');
  assert.equal(revealed.category, 'provider');
});

test("docs: await rt.tools.execute('custom-crm', { ... credentialOverrides: { apiKey: 'SHARED_CRM_KEY' } })", async () => {
  await docState();
  assert.equal(await runSnippet(rt, DOC_SNIPPETS[3]), undefined);
  // The same call, its answer looked at.
  const r = await rt.tools.execute('custom-crm', {
    action: 'lookup_customer',
    params: { email: 'person@example.com' },
    credentialOverrides: { apiKey: 'SHARED_CRM_KEY' },
  });
  assert.equal(r.ok, true);
  assert.equal(r.tool, 'custom-crm');
  assert.equal(r.action, 'lookup_customer');
  assert.equal(r.status, 200);
  assert.deepEqual(r.credentials, [{ slot: 'apiKey', name: 'SHARED_CRM_KEY', scope: 'org', version: r.credentials[0].version }]);
  assert.ok(r.redactions >= 1);
  const text = JSON.stringify(r);
  assert.ok(!text.includes('crm_xxx'), 'the value never reaches the caller');
  assert.ok(text.includes('[REDACTED:apiKey]'));
  assert.equal(r.result.path, '/echo/customers/person%40example.com');
});

test("docs: await rt.secrets.delete('ANTHROPIC_API_KEY')", async () => {
  await docState();
  await runSnippet(rt, DOC_SNIPPETS[1]);
  await rejects(rt.secrets.get('ANTHROPIC_API_KEY'), 404, 'not_found');
  await rt.secrets.get('SHARED_CRM_KEY', { orgWide: true });
});

test("docs: await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true })", async () => {
  await docState();
  await runSnippet(rt, DOC_SNIPPETS[2]);
  await rejects(rt.secrets.get('SHARED_CRM_KEY', { orgWide: true }), 404, 'not_found');
  await rt.secrets.delete('ANTHROPIC_API_KEY');
});

// --- secrets ---
test('secrets.set creates, then rotates (version + 1, category kept)', async () => {
  const a = await rt.secrets.set(n('GH'), 'ghp_xxx', { category: 'tool', description: 'GitHub fallback token' });
  assert.equal(a.created, true);
  assert.equal(a.version, 1);
  assert.equal(a.category, 'tool');
  assert.equal(a.description, 'GitHub fallback token');
  assert.equal(a.scope, 'user');
  assert.ok(!('value' in a), 'metadata never holds the value');
  assert.deepEqual(Object.keys(a).filter((k) => k !== 'created').sort(), META_KEYS);
  const b = await rt.secrets.set({ name: n('GH'), value: 'ghp_yyy' });
  assert.equal(b.created, false);
  assert.equal(b.version, 2);
  assert.equal(b.category, 'tool');
  assert.equal(b.description, 'GitHub fallback token');
  assert.equal((await rt.secrets.get(n('GH'), { reveal: true })).value, 'ghp_yyy');
});

test('secrets.set refusals: bad category 400, 64 KiB + 1 413', async () => {
  await rejects(rt.secrets.set(n('BAD'), 'v', { category: 'nope' }), 400, 'invalid_request');
  await rejects(rt.secrets.set(n('BIG'), 'x'.repeat(65537)), 413, 'too_large');
  await rejects(rt.secrets.get(n('BIG')), 404, 'not_found');
});

test('secrets.rotate: a new value behind the name; a missing name is 404 and not created', async () => {
  const r = await rt.secrets.rotate(n('GH'), 'new-secret-value');
  assert.equal(r.version, 3);
  assert.equal(r.created, false);
  assert.equal((await rt.secrets.get(n('GH'), { reveal: true })).value, 'new-secret-value');
  await rejects(rt.secrets.rotate(n('MISSING'), 'v'), 404, 'not_found');
  await rejects(rt.secrets.get(n('MISSING')), 404, 'not_found');
});

test('secrets.get: metadata without reveal, metadata and value with it', async () => {
  const m = await rt.secrets.get(n('GH'));
  assert.deepEqual(Object.keys(m).sort(), META_KEYS);
  const v = await rt.secrets.get(n('GH'), { reveal: false });
  assert.ok(!('value' in v));
  const r = await rt.secrets.get(n('GH'), { reveal: true });
  assert.deepEqual(Object.keys(r).sort(), [...META_KEYS, 'value', 'valueBytes'].sort());
  assert.ok(Buffer.isBuffer(r.valueBytes));
  assert.equal(r.valueBytes.toString('utf8'), r.value);
  assert.equal(r.version, m.version);
});

test('secrets.delete: own secret, then 404', async () => {
  assert.deepEqual(await rt.secrets.delete(n('GH')), { deleted: true, name: n('GH'), scope: 'user' });
  await rejects(rt.secrets.delete(n('GH')), 404, 'not_found');
});

test('org secrets: set, get, reveal and delete with orgWide', async () => {
  const s = await rt.secrets.set(n('ORG'), 'org-value', { orgWide: true, category: 'tool' });
  assert.equal(s.scope, 'org');
  assert.equal(s.userId, null);
  assert.equal((await rt.secrets.get(n('ORG'), { orgWide: true })).scope, 'org');
  await rejects(rt.secrets.get(n('ORG')), 404, 'not_found');
  assert.equal((await rt.secrets.get(n('ORG'), { orgWide: true, reveal: true })).value, 'org-value');
  const r = await rt.secrets.rotate(n('ORG'), 'org-value-2', { orgWide: true });
  assert.equal(r.version, 2);
  assert.deepEqual(await rt.secrets.delete(n('ORG'), { orgWide: true }), { deleted: true, name: n('ORG'), scope: 'org' });
});

test('a revealed 64 KiB value is equal byte for byte', async () => {
  // Every kind of character JSON escapes or encodes: quotes, backslashes,
  // controls, and two-, three- and four-byte UTF-8, to exactly 65536 bytes.
  let v = '';
  const pieces = ['"', '\\', '\n', '\t', '\u0001', '\u001f', '/', 'é', '€', '𝄞', 'a', '\u007f', '\u2028'];
  for (let i = 0; Buffer.byteLength(v) < 65536 - 8; i++)
    v += pieces[(i * 7 + (i >> 3)) % pieces.length];
  v += 'z'.repeat(65536 - Buffer.byteLength(v));
  const bytes = Buffer.from(v, 'utf8');
  assert.equal(bytes.length, 65536);
  const s = await rt.secrets.set(n('BIG64K'), v);
  assert.equal(s.created, true);
  const r = await rt.secrets.get(n('BIG64K'), { reveal: true });
  assert.ok(Buffer.from(r.value, 'utf8').equals(bytes), 'the same 65536 bytes');
  await rt.secrets.delete(n('BIG64K'));
});

test('a 4 KiB random binary value is set and revealed byte for byte', async () => {
  const bytes = randomBytes(4096);
  bytes[0] = 0xff; // never UTF-8, whatever the rest is
  const s = await rt.secrets.set(n('BIN'), bytes, { category: 'custom' });
  assert.equal(s.created, true);
  const r = await rt.secrets.get(n('BIN'), { reveal: true });
  assert.ok(Buffer.isBuffer(r.valueBytes));
  assert.ok(r.valueBytes.equals(bytes), 'the same 4096 bytes');
  assert.equal(r.value, null);
  assert.ok(!('valueBase64' in r));
  // A Uint8Array that is a view into a larger buffer: only its own bytes.
  const big = new Uint8Array(16).fill(0x41);
  const view = new Uint8Array(big.buffer, 4, 3);
  view.set([0x00, 0xfe, 0x01]);
  const v = await rt.secrets.rotate(n('BIN'), view);
  assert.equal(v.version, 2);
  assert.ok((await rt.secrets.get(n('BIN'), { reveal: true })).valueBytes.equals(Buffer.from([0x00, 0xfe, 0x01])));
  await rejects(rt.secrets.set(n('BIN'), new Uint8Array(0)), 400, 'invalid_request');
  await rejects(rt.secrets.set(n('BIN'), Buffer.alloc(65537)), 413, 'too_large');
  await assert.rejects(rt.secrets.set(n('BIN'), 42), TypeError);
  await rt.secrets.delete(n('BIN'));
});

test('a value holding NUL comes back the same, as text and as bytes', async () => {
  const text = 'a\u0000b\u0000é';
  await rt.secrets.set(n('NUL'), text);
  const r = await rt.secrets.get(n('NUL'), { reveal: true });
  assert.equal(r.value, text);
  assert.ok(r.valueBytes.equals(Buffer.from(text, 'utf8')));
  await rt.secrets.set(n('NUL'), Buffer.from([0x61, 0x00, 0x62]));
  const b = await rt.secrets.get(n('NUL'), { reveal: true });
  assert.equal(b.value, 'a\u0000b');
  assert.ok(b.valueBytes.equals(Buffer.from([0x61, 0x00, 0x62])));
  // Text sent as bytes is revealed as text.
  await rt.secrets.set(n('NUL'), Buffer.from('plain é', 'utf8'));
  const t = await rt.secrets.get(n('NUL'), { reveal: true });
  assert.equal(t.value, 'plain é');
  await rt.secrets.delete(n('NUL'));
});

test('expiresAt: set as a date, a time or a Date, kept, cleared with null', async () => {
  const a = await rt.secrets.set(n('EXP'), 'v1', { expiresAt: '2031-01-02' });
  assert.equal(a.expiresAt, '2031-01-02T00:00:00Z');
  const b = await rt.secrets.set(n('EXP'), 'v2');
  assert.equal(b.expiresAt, '2031-01-02T00:00:00Z', 'a new value keeps it');
  const c = await rt.secrets.rotate(n('EXP'), 'v3', { expiresAt: new Date(Date.UTC(2032, 4, 6, 7, 8, 9, 500)) });
  assert.equal(c.expiresAt, '2032-05-06T07:08:09Z');
  assert.equal((await rt.secrets.get(n('EXP'))).expiresAt, '2032-05-06T07:08:09Z');
  const l = await rt.secrets.list({ prefix: n('EXP') });
  assert.equal(l.secrets[0].expiresAt, '2032-05-06T07:08:09Z');
  const d = await rt.secrets.set(n('EXP'), 'v4', { expiresAt: '2033-03-04T05:06:07Z' });
  assert.equal(d.expiresAt, '2033-03-04T05:06:07Z');
  const e = await rt.secrets.set(n('EXP'), 'v5', { expiresAt: null });
  assert.ok(!('expiresAt' in e), 'cleared: not shown');
  assert.ok(!('expiresAt' in (await rt.secrets.get(n('EXP'), { reveal: true }))));
  await rejects(rt.secrets.set(n('EXP'), 'v6', { expiresAt: '2031-13-01' }), 400, 'invalid_request');
  await assert.rejects(rt.secrets.set(n('EXP'), 'v6', { expiresAt: new Date(NaN) }), TypeError);
  assert.equal((await rt.secrets.get(n('EXP'))).version, 5);
  await rt.secrets.delete(n('EXP'));
});

test('secrets.list: prefix', async () => {
  for (const s of ['PFX_A1', 'PFX_A2', 'PFX_B1'])
    await rt.secrets.set(n(s), 'v');
  const names = (page) => page.secrets.map((s) => s.name).sort();
  assert.deepEqual(names(await rt.secrets.list({ prefix: n('PFX_A'), limit: 1000 })), [n('PFX_A1'), n('PFX_A2')]);
  assert.deepEqual(names(await rt.secrets.list({ prefix: n('PFX_') })), [n('PFX_A1'), n('PFX_A2'), n('PFX_B1')]);
  const p1 = await rt.secrets.list({ prefix: n('PFX_'), limit: 2 });
  assert.equal(p1.secrets.length, 2);
  assert.deepEqual((await rt.secrets.list({ prefix: n('PFX_'), limit: 2 }).all()).map((s) => s.name).sort(),
    [n('PFX_A1'), n('PFX_A2'), n('PFX_B1')]);
  assert.deepEqual((await rt.secrets.list({ prefix: n('PFX_Z') })).secrets, []);
  await rejects(rt.secrets.list({ prefix: 'a b' }), 400, 'invalid_request');
  for (const s of ['PFX_A1', 'PFX_A2', 'PFX_B1'])
    await rt.secrets.delete(n(s));
});

test('secrets.list: every filter of GET /v1/secrets', async () => {
  await rt.secrets.set(n('LP'), 'v', { category: 'provider' });
  await rt.secrets.set(n('LA'), 'v', { category: 'agent' });
  await rt.secrets.set(n('LO'), 'v', { category: 'provider', orgWide: true });
  const names = (page) => page.secrets.map((s) => `${s.scope}:${s.userId ?? ''}:${s.name}`);

  const mine = await rt.secrets.list();
  assert.ok(Array.isArray(mine.secrets));
  assert.ok('nextCursor' in mine);
  for (const s of mine.secrets)
    assert.ok(!('value' in s), 'a list never holds a value');

  const prov = await rt.secrets.list({ category: 'provider', limit: 1000 });
  assert.ok(prov.secrets.every((s) => s.category === 'provider'));
  assert.ok(prov.secrets.some((s) => s.name === n('LP')));
  assert.ok(!prov.secrets.some((s) => s.name === n('LA')));

  const user = await rt.secrets.list({ secretScope: 'user', limit: 1000 });
  assert.ok(user.secrets.every((s) => s.scope === 'user'));
  assert.ok(names(user).some((x) => x.endsWith(`:${n('LP')}`)));
  const org = await rt.secrets.list({ secretScope: 'org', category: 'provider', limit: 1000 });
  assert.ok(org.secrets.every((s) => s.scope === 'org' && s.category === 'provider'));
  assert.ok(org.secrets.some((s) => s.name === n('LO')));

  const all = await rt.secrets.list({ all: true }).all();
  assert.ok(all.some((s) => s.userId === ALICE && s.name === ALICE_SECRET), 'all: true shows other users');
  assert.ok(all.some((s) => s.scope === 'org' && s.name === n('LO')));

  const alice = await rt.secrets.list({ userId: ALICE, limit: 1000 });
  assert.ok(alice.secrets.length >= 1);
  assert.ok(alice.secrets.every((s) => s.userId === ALICE || s.scope === 'org'));
  assert.ok(alice.secrets.some((s) => s.name === ALICE_SECRET));

  const p1 = await rt.secrets.list({ limit: 1, secretScope: 'user' });
  assert.equal(p1.secrets.length, 1);
  assert.equal(typeof p1.nextCursor, 'string');
  const p2 = await rt.secrets.list({ limit: 1, secretScope: 'user', cursor: p1.nextCursor });
  assert.equal(p2.secrets.length, 1);
  assert.notEqual(p2.secrets[0].name, p1.secrets[0].name);
  await rejects(rt.secrets.list({ limit: 0 }), 400, 'invalid_request');

  await rt.secrets.delete(n('LP'));
  await rt.secrets.delete(n('LA'));
  await rt.secrets.delete(n('LO'), { orgWide: true });
});

test('secrets.list iterates 250 secrets across pages by nextCursor', async () => {
  const want = [];
  for (let i = 0; i < 250; i++)
    want.push(n(`PAGE_${String(i).padStart(3, '0')}`));
  for (let i = 0; i < want.length; i += 10)
    await Promise.all(want.slice(i, i + 10).map((name) => rt.secrets.set(name, `v-${name}`, { category: 'workflow' })));
  try {
    const got = [];
    for await (const s of rt.secrets.list({ category: 'workflow', secretScope: 'user', limit: 100 }))
      if (s.name.startsWith(n('PAGE_')))
        got.push(s.name);
    assert.equal(got.length, 250);
    assert.equal(new Set(got).size, 250, 'no secret twice');
    assert.deepEqual([...got].sort(), want);

    let pages = 0;
    for await (const page of rt.secrets.list({ category: 'workflow', secretScope: 'user', limit: 100 }).pages()) {
      pages++;
      assert.ok(page.secrets.length <= 100);
    }
    assert.ok(pages >= 3, `${pages} pages of at most 100`);
    const first = await rt.secrets.list({ category: 'workflow', secretScope: 'user', limit: 100 });
    assert.equal(first.secrets.length, 100);
    assert.equal(typeof first.nextCursor, 'string');
  } finally {
    for (let i = 0; i < want.length; i += 10)
      await Promise.all(want.slice(i, i + 10).map((name) => rt.secrets.delete(name)));
  }
  const left = await rt.secrets.list({ category: 'workflow', secretScope: 'user' }).all();
  assert.ok(!left.some((s) => s.name.startsWith(n('PAGE_'))));
});

test("an admin manages another user's secrets with userId, but never reveals them", async () => {
  const s = await rt.secrets.set(n('FOR_ALICE'), 'for-alice', { userId: ALICE });
  assert.equal(s.userId, ALICE);
  assert.equal(s.scope, 'user');
  assert.equal((await rt.secrets.get(n('FOR_ALICE'), { userId: ALICE })).userId, ALICE);
  await rejects(rt.secrets.get(n('FOR_ALICE'), { userId: ALICE, reveal: true }), 403, 'forbidden');
  await rejects(rt.secrets.get(n('FOR_ALICE')), 404, 'not_found');
  assert.deepEqual(await rt.secrets.delete(n('FOR_ALICE'), { userId: ALICE }),
    { deleted: true, name: n('FOR_ALICE'), scope: 'user' });
});

// --- tokens ---
test('tokens.create, list, use and revoke', async () => {
  const t = await rt.tokens.create({ description: `${PREFIX} laptop`, ttlSeconds: 3600 });
  assert.match(t.token, /^rts_[0-9a-f]{16}_/);
  assert.match(t.id, /^[0-9a-f]{16}$/);
  assert.equal(t.role, 'member');
  assert.equal(t.description, `${PREFIX} laptop`);
  assert.equal(typeof t.expiresAt, 'string');
  assert.equal(t.scopes, null);
  const adm = await rt.tokens.create({ description: `${PREFIX} admin`, role: 'admin' });
  assert.equal(adm.role, 'admin');
  assert.equal(adm.expiresAt, null);
  const scoped = await rt.tokens.create({ description: `${PREFIX} agent`, scopes: ['tools:custom-crm'] });
  assert.deepEqual(scoped.scopes, ['tools:custom-crm']);
  const agent = new RunTools({ token: scoped.token });
  try {
    await rejects(agent.secrets.list(), 403, 'forbidden');
  } finally {
    agent.close();
  }
  await rejects(rt.tokens.create({ scopes: ['secrets:ALL'] }), 400, 'invalid_request');
  await rt.tokens.revoke(scoped.id);

  const page = await rt.tokens.list({ limit: 1 });
  assert.ok(Array.isArray(page.tokens));
  const listed = await rt.tokens.list().all();
  const mine = listed.find((x) => x.id === t.id);
  assert.ok(mine, 'the new token is listed');
  assert.ok(!('token' in mine), 'a list never holds a token');

  const other = new RunTools({ token: t.token });
  try {
    const r = await other.secrets.list();
    assert.ok(Array.isArray(r.secrets));
    assert.deepEqual(await rt.tokens.revoke(t.token), { revoked: true, id: t.id });
    await rejects(other.secrets.list(), 401, 'unauthenticated');
  } finally {
    other.close();
  }
  assert.deepEqual(await rt.tokens.revoke(adm), { revoked: true, id: adm.id });
  await rejects(rt.tokens.revoke(adm.id), 404, 'not_found');
});

// --- tools ---
test('tools.list and tools.get', async () => {
  const first = await rt.tools.list();
  assert.ok(Array.isArray(first.tools));
  const all = await rt.tools.list({ limit: 1 }).all();
  const names = all.map((x) => x.name);
  assert.ok(names.includes('custom-crm') && names.includes('slowcrm'), names.join(' '));
  const t = await rt.tools.get('custom-crm');
  assert.equal(t.name, 'custom-crm');
  assert.equal(t.type, 'http');
  assert.deepEqual(t.credentials, [{ slot: 'apiKey', defaultSecret: 'SHARED_CRM_KEY' }]);
  const a = t.actions.find((x) => x.name === 'lookup_customer');
  assert.deepEqual(a.params, [{ name: 'email', type: 'string', required: true, in: 'path' }]);
  assert.ok(!JSON.stringify(t).includes('localhost'), 'a tool shows no URL');
  await rejects(rt.tools.get('no-such-tool'), 404, 'not_found');
});

test('tools.execute: the object override, a missing action, a missing tool', async () => {
  await rt.secrets.set('SHARED_CRM_KEY', 'crm_org_value', { orgWide: true });
  await rt.secrets.set('SHARED_CRM_KEY', 'crm_own_value');
  try {
    const own = await rt.tools.execute('custom-crm', { action: 'lookup_customer', params: { email: 'a@b.c' } });
    assert.equal(own.credentials[0].scope, 'user');
    const org = await rt.tools.execute('custom-crm', {
      action: 'lookup_customer', params: { email: 'a@b.c' },
      credentialOverrides: { apiKey: { name: 'SHARED_CRM_KEY', orgWide: true } },
    });
    assert.equal(org.credentials[0].scope, 'org');
    assert.ok(!JSON.stringify(org).includes('crm_org_value'));
    await rejects(rt.tools.execute('custom-crm', { action: 'no_such_action' }), 400, 'invalid_request');
    await rejects(rt.tools.execute('no-such-tool', { action: 'x' }), 404, 'not_found');
  } finally {
    await rt.secrets.delete('SHARED_CRM_KEY');
    await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true });
  }
});

// --- the client itself ---
test('keep-alive: sequential requests share one connection', async () => {
  // Every connection an agent opens goes through its createConnection.
  const protos = [http.Agent.prototype, https.Agent.prototype];
  const saved = protos.map((p) => Object.getOwnPropertyDescriptor(p, 'createConnection'));
  let opened = 0;
  for (const p of protos) {
    const orig = p.createConnection;
    p.createConnection = function (...args) {
      opened++;
      return orig.apply(this, args);
    };
  }
  const other = new RunTools();
  try {
    for (let i = 0; i < 5; i++)
      await other.health();
    await other.secrets.list({ limit: 1 });
  } finally {
    protos.forEach((p, i) => (saved[i] ? Object.defineProperty(p, 'createConnection', saved[i]) : delete p.createConnection));
    other.close();
  }
  assert.equal(opened, 1, `${opened} connections for 6 requests`);
});

test('unknown options are refused before anything is sent', async () => {
  await assert.rejects(rt.secrets.get('X', { org_wide: true }), TypeError);
  await assert.rejects(rt.secrets.delete('X', { orgwide: true }), TypeError);
  assert.throws(() => rt.secrets.list({ scope: 'org' }), TypeError);
  await assert.rejects(rt.secrets.set('X', 42), TypeError);
  await assert.rejects(rt.tools.execute('custom-crm', { params: {} }), TypeError);
  assert.ok(new RunToolsError('x', { status: 404 }).code === 'not_found');
});
