#!/usr/bin/python3
"""An exec tool for secretd: see github.tool and secretd.tools(5).

Reads {"action": ..., "params": {...}} on stdin, calls the GitHub REST API
with the token secretd puts in GITHUB_TOKEN, and prints the answer as one
JSON object on stdout.  The token is only in this process's environment
and in the request's header: never printed, logged or passed on a command
line, and never sent to another host on a redirect.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

API = "https://api.github.com"


class SameHost(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the API host (it carries the token)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(API).netloc:
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def get(path):
    req = urllib.request.Request(API + path, headers={
        "Authorization": "Bearer " + os.environ["GITHUB_TOKEN"],
        "Accept": "application/vnd.github+json",
        "User-Agent": "secretd-github-tool",
    })
    with urllib.request.build_opener(SameHost).open(req, timeout=15) as r:
        return json.load(r)


def pick(obj, keys):
    return {k: obj.get(k) for k in keys}


def main():
    req = json.load(sys.stdin)
    action, params = req.get("action"), req.get("params") or {}
    if action == "whoami":
        out = pick(get("/user"), ("login", "name", "html_url", "created_at"))
    elif action == "repo":
        path = "/repos/%s/%s" % (urllib.parse.quote(params["owner"], safe=""),
                                 urllib.parse.quote(params["name"], safe=""))
        out = pick(get(path), ("full_name", "description", "private",
                               "default_branch", "stargazers_count",
                               "open_issues_count", "pushed_at"))
    else:
        print("unknown action %r" % action, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except urllib.error.HTTPError as e:
        print("GitHub answered %d %s" % (e.code, e.reason), file=sys.stderr)
        sys.exit(1)
    except (urllib.error.URLError, OSError) as e:
        print("GitHub could not be reached: %s" % e, file=sys.stderr)
        sys.exit(1)
