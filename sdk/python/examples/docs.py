#!/usr/bin/env python3
"""The RunTools documentation's JavaScript lines, in Python.

Against a running secretd (the development instance: run from the source
folder with the instance started by contrib/dev-instance.sh):

    RUNTOOLS_URL=unix:dev/secretd.sock PYTHONPATH=sdk/python \\
        python3 sdk/python/examples/docs.py

It creates the documentation's secrets (ANTHROPIC_API_KEY yours,
SHARED_CRM_KEY the org's, which needs an admin: on the development
instance your primary group is the admin group), then runs the lines:
reveal, the custom-crm tool with credentialOverrides (when the tools
folder defines custom-crm, as the README's "Tools" section sets up), and
the two deletes.  Values are never printed.
"""

import json
import sys

import runtools


def main() -> int:
    rt = runtools.Client()
    print("secretd at %s: %s" % (rt.endpoint, rt.health()["status"]))

    # runtools secret set ANTHROPIC_API_KEY "sk-ant-xxx" --category provider
    rt.secrets.set("ANTHROPIC_API_KEY", "sk-ant-xxx", category="provider")
    # runtools secret set SHARED_CRM_KEY "crm_xxx" --category tool --org-wide
    rt.secrets.set("SHARED_CRM_KEY", "crm_xxx", category="tool",
                   org_wide=True)

    # const revealed = await rt.secrets.get('ANTHROPIC_API_KEY', {
    #   reveal: true,
    # });
    revealed = rt.secrets.get("ANTHROPIC_API_KEY", reveal=True)
    print("rt.secrets.get('ANTHROPIC_API_KEY', reveal=True): version %d, "
          "a value of %d characters" % (revealed["version"],
                                        len(revealed["value"])))

    # await rt.tools.execute('custom-crm', {
    #   action: 'lookup_customer',
    #   params: { email: 'person@example.com' },
    #   credentialOverrides: {
    #     apiKey: 'SHARED_CRM_KEY',
    #   },
    # });
    if "custom-crm" in (t["name"] for t in rt.tools.list()):
        result = rt.tools.execute(
            "custom-crm",
            action="lookup_customer",
            params={"email": "person@example.com"},
            credential_overrides={"apiKey": "SHARED_CRM_KEY"},
        )
        print("rt.tools.execute('custom-crm', ...): ok=%s, credentials=%s, "
              "redactions=%d" % (json.dumps(result["ok"]),
                                 json.dumps(result.get("credentials")),
                                 result.get("redactions", 0)))
    else:
        print("rt.tools.execute('custom-crm', ...): skipped, the tools "
              "folder has no custom-crm (see the README's Tools section)")

    # await rt.secrets.delete('ANTHROPIC_API_KEY');
    d = rt.secrets.delete("ANTHROPIC_API_KEY")
    print("rt.secrets.delete('ANTHROPIC_API_KEY'): %s" % json.dumps(d))
    # await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true });
    d = rt.secrets.delete("SHARED_CRM_KEY", org_wide=True)
    print("rt.secrets.delete('SHARED_CRM_KEY', org_wide=True): %s"
          % json.dumps(d))
    rt.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except runtools.RunToolsError as e:
        print("docs.py: %s" % e, file=sys.stderr)
        sys.exit(1)
