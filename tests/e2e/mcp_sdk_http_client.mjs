// The official MCP TypeScript SDK as a client of secretd's /v1/mcp over
// Streamable HTTP, for tests/e2e/test_mcp_sdk_http.sh.
//
//   node mcp_sdk_http_client.mjs SDK_DIR URL TOKEN
//
// SDK_DIR is the npm prefix the SDK was installed into; the daemon's CA
// comes from NODE_EXTRA_CA_CERTS.  Connects with the bearer token,
// lists the tools, calls a few, ends the session, then prints one JSON
// object of what it saw on standard output.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [sdkDir, url, token] = process.argv.slice(2);
const esm = join(sdkDir, 'node_modules', '@modelcontextprotocol', 'sdk',
    'dist', 'esm');
const { Client } = await import(pathToFileURL(join(esm, 'client',
    'index.js')));
const { StreamableHTTPClientTransport } = await import(pathToFileURL(
    join(esm, 'client', 'streamableHttp.js')));

const transport = new StreamableHTTPClientTransport(new URL(url), {
	requestInit: { headers: { Authorization: `Bearer ${token}` } } });
const client = new Client({ name: 'sdk-http-e2e', version: '1.0.0' });
const out = {};

// A call's result, or the JSON-RPC error it threw.
async function call(name, args) {
	try {
		return await client.callTool({ name, arguments: args });
	} catch (e) {
		return { thrown: { code: e.code, message: e.message } };
	}
}

await client.connect(transport);
out.serverVersion = client.getServerVersion();
out.capabilities = client.getServerCapabilities();
out.protocolVersion = transport.protocolVersion ?? null;
out.sessionId = transport.sessionId ?? null;
out.tools = (await client.listTools()).tools;
out.http = await call('crm__echo', { echo: 'header:Authorization' });
out.badArgs = await call('crm__echo', { echo: 7 });
out.outside = await call('github__echo', {});
out.timeout = await call('slowcrm__slow', { s: 5 });
out.ping = await client.ping();
await transport.terminateSession();
await client.close();
process.stdout.write(JSON.stringify(out) + '\n');
