// The official MCP TypeScript SDK as a client of `runtools mcp` over
// stdio, for tests/e2e/test_mcp_sdk.sh.
//
//   node mcp_sdk_client.mjs SDK_DIR COMMAND [ARGS...]
//
// SDK_DIR is the npm prefix the SDK was installed into.  Connects
// (initialize, initialized), lists the tools and calls a few, then
// prints one JSON object of what it saw on standard output.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [sdkDir, command, ...args] = process.argv.slice(2);
const esm = join(sdkDir, 'node_modules', '@modelcontextprotocol', 'sdk',
    'dist', 'esm');
const { Client } = await import(pathToFileURL(join(esm, 'client',
    'index.js')));
const { StdioClientTransport } = await import(pathToFileURL(join(esm,
    'client', 'stdio.js')));

const transport = new StdioClientTransport({ command, args,
    stderr: 'inherit' });
const client = new Client({ name: 'sdk-e2e', version: '1.0.0' });
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
out.tools = (await client.listTools()).tools;
out.http = await call('custom-crm__lookup_customer',
    { email: 'person@example.com' });
out.exec = await call('env__run', {});
out.badArgs = await call('crm__post', { count: 'three' });
out.unknown = await call('nope__nope', {});
out.ping = await client.ping();
await client.close();
process.stdout.write(JSON.stringify(out) + '\n');
