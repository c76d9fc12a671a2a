// The JavaScript lines of the RunTools secrets documentation, run as
// printed against a secretd: by default the development instance of
// contrib/dev-instance.sh (dev/secretd.sock at the top of the source
// tree), else RUNTOOLS_URL (with RUNTOOLS_TOKEN and RUNTOOLS_CA_FILE over
// TLS).  Run it as an admin of that instance (for the dev instance, the
// user who started it):
//
//   node sdk/js/examples/docs.mjs
//
// The custom-crm line needs that tool in the instance's tools.d (see the
// README's "Tools" section).
import { fileURLToPath } from 'node:url';
import { RunTools, RunToolsError } from 'runtools';

process.env.RUNTOOLS_URL ||= `unix:${fileURLToPath(new URL('../../../dev/secretd.sock', import.meta.url))}`;

const rt = new RunTools();

let failed = 0;
async function step(what, fn) {
  try {
    await fn();
    console.log(`ok: ${what}`);
  } catch (err) {
    failed++;
    if (!(err instanceof RunToolsError))
      throw err;
    console.log(`failed: ${what}: ${err.status} ${err.code}: ${err.message}` +
      (err.requestId ? ` (request ${err.requestId})` : ''));
    if (err.code === 'not_found' && what.includes('custom-crm'))
      console.log('  (no custom-crm tool: set it up as in the README\'s "Tools" section)');
  }
}

console.log(`secretd at ${rt.url}: ${(await rt.health()).status}`);

// What the documentation's lines act on, as its runtools lines make them.
await step("rt.secrets.set('ANTHROPIC_API_KEY', 'sk-ant-xxx', { category: 'provider' })", async () => {
  await rt.secrets.set('ANTHROPIC_API_KEY', 'sk-ant-xxx', { category: 'provider' });
});
await step("rt.secrets.set('SHARED_CRM_KEY', 'crm_xxx', { category: 'tool', orgWide: true })", async () => {
  await rt.secrets.set('SHARED_CRM_KEY', 'crm_xxx', { category: 'tool', orgWide: true });
});

await step("const revealed = await rt.secrets.get('ANTHROPIC_API_KEY', { reveal: true })", async () => {
  const revealed = await rt.secrets.get('ANTHROPIC_API_KEY', {
    reveal: true,
  });
  // A placeholder value; never print a real one.
  console.log(`revealed.value: ${revealed.value} (version ${revealed.version})`);
});

await step("await rt.tools.execute('custom-crm', { ... })", async () => {
  const answer = await rt.tools.execute('custom-crm', {
    action: 'lookup_customer',
    params: { email: 'person@example.com' },
    credentialOverrides: {
      apiKey: 'SHARED_CRM_KEY',
    },
  });
  const { ok, status, credentials, redactions } = answer;
  console.log(JSON.stringify({ ok, status, credentials, redactions }, null, 2));
});

await step("await rt.secrets.delete('ANTHROPIC_API_KEY')", async () => {
  await rt.secrets.delete('ANTHROPIC_API_KEY');
});
await step("await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true })", async () => {
  await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true });
});

rt.close();
process.exitCode = failed ? 1 : 0;
