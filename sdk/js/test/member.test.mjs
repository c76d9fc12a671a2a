// A member of the org: the policy's refusals reach the caller as
// RunToolsError with the API's status, code and request id.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RunTools } from 'runtools';
import { PREFIX, ALICE, ALICE_SECRET, ORG_SECRET, rejects } from './common.mjs';

const rt = new RunTools();
after(() => rt.close());
const n = (s) => `${PREFIX}_${s}`;

test('a member sets, reveals and deletes her own secret', async () => {
  await rt.secrets.set(n('MINE'), 'mine-value', { category: 'agent' });
  const r = await rt.secrets.get(n('MINE'), { reveal: true });
  assert.equal(r.value, 'mine-value');
  assert.equal(r.scope, 'user');
  await rt.secrets.delete(n('MINE'));
});

test('org_reveal = admins: a member revealing an org secret is 403 forbidden', async () => {
  const m = await rt.secrets.get(ORG_SECRET, { orgWide: true });
  assert.equal(m.scope, 'org');
  assert.ok(!('value' in m));
  await rejects(rt.secrets.get(ORG_SECRET, { orgWide: true, reveal: true }), 403, 'forbidden');
});

test("another user's secret is 404 not_found, as if missing", async () => {
  await rejects(rt.secrets.get(ALICE_SECRET), 404, 'not_found');
  await rejects(rt.secrets.get(ALICE_SECRET, { reveal: true }), 404, 'not_found');
  await rejects(rt.secrets.get(ALICE_SECRET, { userId: ALICE }), 404, 'not_found');
  await rejects(rt.secrets.delete(ALICE_SECRET, { userId: ALICE }), 404, 'not_found');
});

test('a member may not write or delete org secrets, list everyone or make admin tokens (403)', async () => {
  await rejects(rt.secrets.set(n('ORG'), 'v', { orgWide: true }), 403, 'forbidden');
  await rejects(rt.secrets.delete(ORG_SECRET, { orgWide: true }), 403, 'forbidden');
  await rejects(rt.secrets.list({ all: true }), 403, 'forbidden');
  await rejects(rt.tokens.create({ role: 'admin' }), 403, 'forbidden');
  await rt.secrets.get(ORG_SECRET, { orgWide: true });
});

test('a member lists her own secrets and the org ones, never a value', async () => {
  await rt.secrets.set(n('L'), 'v');
  try {
    const all = await rt.secrets.list().all();
    assert.ok(all.some((s) => s.name === n('L') && s.scope === 'user'));
    assert.ok(all.some((s) => s.name === ORG_SECRET && s.scope === 'org'));
    assert.ok(!all.some((s) => s.name === ALICE_SECRET && s.scope === 'user'));
    assert.ok(all.every((s) => !('value' in s)));
  } finally {
    await rt.secrets.delete(n('L'));
  }
});

test('a member uses an org secret in a tool she cannot reveal', async () => {
  const r = await rt.tools.execute('custom-crm', {
    action: 'lookup_customer',
    params: { email: 'person@example.com' },
    credentialOverrides: { apiKey: ORG_SECRET },
  });
  assert.equal(r.ok, true);
  assert.deepEqual(r.credentials.map((c) => [c.name, c.scope]), [[ORG_SECRET, 'org']]);
});

test('a member lists, reveals and rolls back the kept versions of her secret', async () => {
  await rt.secrets.set(n('VER'), 'ver-1');
  await rt.secrets.set(n('VER'), 'ver-2');
  await rt.secrets.set(n('VER'), Buffer.from([0, 1, 2, 255]));
  try {
    const v = await rt.secrets.versions(n('VER'));
    assert.deepEqual(v.versions.map((x) => [x.version, x.current]), [[3, true], [2, false], [1, false]]);
    assert.equal(v.scope, 'user');
    assert.ok(v.versions.every((x) => !('value' in x)));
    assert.equal((await rt.secrets.get(n('VER'), { reveal: true, version: 1 })).value, 'ver-1');
    assert.deepEqual([...(await rt.secrets.get(n('VER'), { reveal: true, version: 3 })).valueBytes], [0, 1, 2, 255]);
    const m = await rt.secrets.rollback(n('VER'), 2);
    assert.equal(m.version, 4);
    assert.ok(!('value' in m));
    assert.equal((await rt.secrets.get(n('VER'), { reveal: true })).value, 'ver-2');
    await rejects(rt.secrets.rollback(n('VER'), 4), 409, 'conflict');
    await rejects(rt.secrets.get(n('VER'), { reveal: true, version: 99 }), 404, 'not_found');
    await assert.rejects(rt.secrets.rollback(n('VER'), 0), TypeError);
    await assert.rejects(rt.secrets.rollback(n('VER'), '2'), TypeError);
    await assert.rejects(rt.secrets.get(n('VER'), { version: 2 }), TypeError);
    assert.equal((await rt.secrets.versions(n('VER'))).versions[0].version, 4);
  } finally {
    await rt.secrets.delete(n('VER'));
  }
  await rejects(rt.secrets.versions(n('VER')), 404, 'not_found');
});

test('a member cannot reveal an old org version or roll an org secret back (403)', async () => {
  const v = await rt.secrets.versions(ORG_SECRET, { orgWide: true });
  assert.equal(v.scope, 'org');
  await rejects(rt.secrets.get(ORG_SECRET, { orgWide: true, reveal: true, version: v.versions[0].version }), 403, 'forbidden');
  await rejects(rt.secrets.rollback(ORG_SECRET, 1, { orgWide: true }), 403, 'forbidden');
  await rejects(rt.secrets.versions(ALICE_SECRET, { userId: ALICE }), 404, 'not_found');
});
