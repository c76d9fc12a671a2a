// The JavaScript lines of the RunTools secrets documentation, exactly as
// printed there, and a reader that finds them in the document itself.
import fs from 'node:fs';

export const DOC_SNIPPETS = [
  `const revealed = await rt.secrets.get('ANTHROPIC_API_KEY', {
  reveal: true,
});`,
  `await rt.secrets.delete('ANTHROPIC_API_KEY');`,
  `await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true });`,
  `await rt.tools.execute('custom-crm', {
  action: 'lookup_customer',
  params: { email: 'person@example.com' },
  credentialOverrides: {
    apiKey: 'SHARED_CRM_KEY',
  },
});`,
];

// Each statement of the document that calls rt: from a line starting with
// "const" or "await" and naming rt., to the line where its brackets close.
export function docSnippets(text) {
  const out = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*(const\s+\w+\s*=\s*)?await\s+rt\./.test(lines[i]))
      continue;
    const stmt = [];
    let depth = 0;
    for (; i < lines.length; i++) {
      stmt.push(lines[i]);
      for (const c of lines[i].replace(/'[^']*'/g, ''))
        depth += '([{'.includes(c) ? 1 : ')]}'.includes(c) ? -1 : 0;
      if (depth <= 0 && /;\s*$/.test(lines[i]))
        break;
    }
    out.push(stmt.join('\n').trim());
  }
  return out;
}

export function readDoc() {
  const file = process.env.RUNTOOLS_DOC;
  if (!file)
    return null;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

// Runs one statement as written, with rt in scope; what it declared as
// revealed (if anything) comes back.
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
export function runSnippet(rt, code) {
  return new AsyncFunction('rt', `${code}\nreturn typeof revealed === 'undefined' ? undefined : revealed;`)(rt);
}
