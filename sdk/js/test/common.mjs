// Shared by the SDK's tests, which run against a real secretd started by
// tests/e2e/test_sdk_js.sh (over its unix socket or over TLS with a
// token, as set in RUNTOOLS_URL, RUNTOOLS_TOKEN and RUNTOOLS_CA_FILE).
import assert from 'node:assert/strict';
import { RunToolsError } from 'runtools';

export const MODE = process.env.SDK_MODE ?? (process.env.RUNTOOLS_URL?.startsWith('https:') ? 'tls' : 'unix');
// Names no other run of these tests uses.
export const PREFIX = `SDKJS_${MODE.toUpperCase()}_${process.pid}`;
export const ALICE = process.env.SDK_ALICE ?? 'e2e_alice';
export const ALICE_SECRET = process.env.SDK_ALICE_SECRET ?? 'ALICE_ONLY';
export const ORG_SECRET = process.env.SDK_ORG_SECRET ?? 'ORG_ONLY';

// rejects(promise, status, code): the promise fails with a RunToolsError
// of that status and code; an API answer carries its request id.
export async function rejects(promise, status, code) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a RunToolsError ${status} ${code}, got success`);
  assert.ok(err instanceof RunToolsError, `expected a RunToolsError, got ${err?.stack ?? err}`);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'RunToolsError');
  assert.deepEqual([err.status, err.code], [status, code], `${err.status} ${err.code}: ${err.message}`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0);
  if (status > 0) {
    assert.equal(typeof err.requestId, 'string');
    assert.ok(err.requestId.length > 0, 'an API error carries its requestId');
  }
  return err;
}
