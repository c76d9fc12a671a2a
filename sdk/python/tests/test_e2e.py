"""The SDK against a real secretd, started by tests/e2e/test_sdk_python.sh.

Each class runs as one local user (the script picks it with runuser) and
reads what the script set up from SDKT_* variables:

  SDKT_SOCK      the daemon's unix socket
  SDKT_URL       its TLS listener, https://127.0.0.1:PORT
  SDKT_CA        its certificate; SDKT_OTHER_CA another CA's
  SDKT_ALICE, SDKT_BOB, SDKT_ADMIN   the users (SDKT_ADMIN in admin_group)
  SDKT_ATOK      a member token of SDKT_ALICE
  SDKT_CRM_VALUE the org secret SHARED_CRM_KEY's value, for redaction checks
  SDKT_UPLOG     the tool upstream's request log (one JSON line a request)
  SDKT_DEAD_PORT a loopback port nothing listens on

The daemon runs with org_reveal = admins; the script made the org secret
ORG_LOCKED and SDKT_ALICE's secret ALICE_ONLY before these run.
"""

import datetime
import json
import os
import socket
import stat
import tempfile
import threading
import time
import unittest
from unittest import mock

import runtools
from runtools import RunToolsError

E = os.environ.get
SOCK = E("SDKT_SOCK", "")
URL = E("SDKT_URL", "")
CA = E("SDKT_CA", "")
ALICE, BOB, ADMIN = E("SDKT_ALICE", ""), E("SDKT_BOB", ""), E("SDKT_ADMIN", "")
CRM_VALUE = E("SDKT_CRM_VALUE", "")


def value_64k() -> str:
    """Exactly 65536 bytes of UTF-8: JSON escapes, multi-byte text."""
    unit = 'a"b\\c\n\t/\u00e9\u2713\U0001f511 '  # 1+1+1+1+1+1+1+1+2+3+4+1
    n = len(unit.encode("utf-8"))
    v = unit * (65536 // n)
    v += "x" * (65536 - len(v.encode("utf-8")))
    assert len(v.encode("utf-8")) == 65536
    return v


class Case(unittest.TestCase):
    """Helpers: expect an error of a status and code."""

    def raises(self, status, code, fn, *a, **kw) -> RunToolsError:
        with self.assertRaises(RunToolsError) as cm:
            fn(*a, **kw)
        e = cm.exception
        self.assertEqual((e.status, e.code), (status, code), repr(e))
        self.assertIsInstance(e.message, str)
        self.assertTrue(e.message)
        if status is not None:
            self.assertTrue(e.request_id, "an API error carries requestId")
        else:
            self.assertIsNone(e.request_id)
        return e


def unix_client(**kw) -> runtools.Client:
    return runtools.Client("unix:" + SOCK, **kw)


class UnixMember(Case):
    """SDKT_ALICE over the unix socket, no token: identity from the kernel."""

    @classmethod
    def setUpClass(cls) -> None:
        # RUNTOOLS_URL is the script's unix socket.
        cls.rt = runtools.Client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.rt.close()

    def test_env_url(self):
        """RUNTOOLS_URL=unix:... chose the socket"""
        self.assertEqual(str(self.rt.endpoint), "unix:" + SOCK)

    def test_health(self):
        """health() answers {"status": "ok"}"""
        self.assertEqual(self.rt.health(), {"status": "ok"})

    def test_set_get_rotate_delete(self):
        """set, get, reveal, set again, rotate, delete: shapes and versions"""
        s = self.rt.secrets
        m = s.set("PY_ONE", "v1", category="tool", description="py sdk")
        self.assertEqual((m["name"], m["scope"], m["userId"], m["category"],
                          m["description"], m["version"], m["createdBy"]),
                         ("PY_ONE", "user", ALICE, "tool", "py sdk", 1, ALICE))
        self.assertNotIn("value", m)
        g = s.get("PY_ONE")
        self.assertNotIn("value", g)
        self.assertEqual(g["version"], 1)
        self.assertEqual(s.get("PY_ONE", reveal=True)["value"], "v1")
        m = s.set("PY_ONE", "v2")
        self.assertEqual((m["version"], m["category"], m["description"]),
                         (2, "tool", "py sdk"))
        m = s.rotate("PY_ONE", "v3")
        self.assertEqual(m["version"], 3)
        r = s.get("PY_ONE", reveal=True)
        self.assertEqual((r["value"], r["version"], r["category"]),
                         ("v3", 3, "tool"))
        self.assertEqual(s.delete("PY_ONE"),
                         {"deleted": True, "name": "PY_ONE", "scope": "user"})
        self.raises(404, "not_found", s.get, "PY_ONE")
        self.raises(404, "not_found", s.get, "PY_ONE", reveal=True)
        self.raises(404, "not_found", s.delete, "PY_ONE")

    def test_rotate_missing(self):
        """rotate of a missing secret is 404 and creates nothing"""
        self.raises(404, "not_found", self.rt.secrets.rotate, "PY_NONE", "x")
        self.raises(404, "not_found", self.rt.secrets.get, "PY_NONE")

    def test_bytes_value(self):
        """bytes go as valueBase64: UTF-8 comes back as text, others not"""
        s = self.rt.secrets
        s.set("PY_BYTES", "h\u00e9llo".encode("utf-8"))
        r = s.get("PY_BYTES", reveal=True)
        self.assertEqual((r["value"], r["valueBytes"]),
                         ("h\u00e9llo", "h\u00e9llo".encode("utf-8")))
        self.assertNotIn("valueBase64", r)
        m = s.set("PY_BYTES", b"\xff\xfe")
        self.assertEqual(m["version"], 2)
        r = s.get("PY_BYTES", reveal=True)
        self.assertEqual((r["value"], r["valueBytes"]), (None, b"\xff\xfe"))
        s.rotate("PY_BYTES", memoryview(bytearray(b"\x00\x01\x80"))[1:])
        self.assertEqual(s.get("PY_BYTES", reveal=True)["valueBytes"],
                         b"\x01\x80")
        self.raises(400, "invalid_request", s.set, "PY_BYTES", b"")
        self.raises(413, "too_large", s.set, "PY_BYTES", bytes(65537))
        self.raises(None, "invalid_argument", s.set, "PY_BYTES", 42)
        s.delete("PY_BYTES")

    def test_binary_4k(self):
        """4 KiB of random bytes are revealed equal byte for byte"""
        v = b"\xff" + os.urandom(4095)
        m = self.rt.secrets.set("PY_BIN4K", v, category="custom")
        self.assertEqual(m["version"], 1)
        r = self.rt.secrets.get("PY_BIN4K", reveal=True)
        self.assertIsInstance(r["valueBytes"], bytes)
        self.assertEqual(r["valueBytes"], v)
        self.assertIsNone(r["value"])
        self.rt.secrets.delete("PY_BIN4K")

    def test_nul_value(self):
        """a value holding NUL round-trips, from str and from bytes"""
        s = self.rt.secrets
        text = "a\0b\0\u00e9"
        s.set("PY_NUL", text)
        r = s.get("PY_NUL", reveal=True)
        self.assertEqual((r["value"], r["valueBytes"]),
                         (text, text.encode("utf-8")))
        s.set("PY_NUL", b"\0")
        r = s.get("PY_NUL", reveal=True)
        self.assertEqual((r["value"], r["valueBytes"]), ("\0", b"\0"))
        s.delete("PY_NUL")

    def test_expires_at(self):
        """expires_at: a date, kept, a datetime, a str, cleared by None"""
        s = self.rt.secrets
        m = s.set("PY_EXP", "v1", expires_at=datetime.date(2031, 1, 2))
        self.assertEqual(m["expiresAt"], "2031-01-02T00:00:00Z")
        self.assertEqual(s.set("PY_EXP", "v2")["expiresAt"],
                         "2031-01-02T00:00:00Z")
        tz = datetime.timezone(datetime.timedelta(hours=2))
        m = s.rotate("PY_EXP", "v3", expires_at=datetime.datetime(
            2032, 5, 6, 9, 8, 9, 500, tzinfo=tz))
        self.assertEqual(m["expiresAt"], "2032-05-06T07:08:09Z")
        self.assertEqual(s.get("PY_EXP")["expiresAt"], "2032-05-06T07:08:09Z")
        self.assertEqual([x.get("expiresAt") for x in
                          s.list(prefix="PY_EXP")], ["2032-05-06T07:08:09Z"])
        m = s.set("PY_EXP", "v4", expires_at="2033-03-04T05:06:07Z")
        self.assertEqual(m["expiresAt"], "2033-03-04T05:06:07Z")
        m = s.set("PY_EXP", "v5", expires_at=None)
        self.assertNotIn("expiresAt", m)
        self.assertNotIn("expiresAt", s.get("PY_EXP", reveal=True))
        self.raises(400, "invalid_request", s.set, "PY_EXP", "v6",
                    expires_at="2031-13-01")
        self.raises(None, "invalid_argument", s.set, "PY_EXP", "v6",
                    expires_at=datetime.datetime(2031, 1, 1))
        self.raises(None, "invalid_argument", s.rotate, "PY_EXP", "v6",
                    expires_at=5)
        self.assertEqual(s.get("PY_EXP")["version"], 5)
        s.delete("PY_EXP")

    def test_list_prefix(self):
        """list(prefix=...): only names starting with it, across pages"""
        s = self.rt.secrets
        names = ["PY_PFX_A1", "PY_PFX_A2", "PY_PFX_B1"]
        for n in names:
            s.set(n, "v")
        self.assertEqual(sorted(x["name"] for x in
                                s.list(prefix="PY_PFX_A").items),
                         names[:2])
        p = s.list(prefix="PY_PFX_", limit=2)
        self.assertEqual(len(p.items), 2)
        self.assertEqual(sorted(x["name"] for x in p), names)
        self.assertEqual(s.list(prefix="PY_PFX_Z").items, [])
        self.raises(400, "invalid_request", s.list, prefix="a b")
        for n in names:
            s.delete(n)

    def test_value_64k(self):
        """a 64 KiB value is revealed equal byte for byte; one more is 413"""
        v = value_64k()
        self.rt.secrets.set("PY_BIG", v, category="custom")
        got = self.rt.secrets.get("PY_BIG", reveal=True)["value"]
        self.assertEqual(got.encode("utf-8"), v.encode("utf-8"))
        self.raises(413, "too_large", self.rt.secrets.set, "PY_BIG", v + "x")
        self.assertEqual(self.rt.secrets.get("PY_BIG")["version"], 1)

    def test_invalid_requests(self):
        """the API's 400s: a bad name, a bad limit, a bad category"""
        self.raises(400, "invalid_request", self.rt.secrets.set, "1BAD", "x")
        self.raises(400, "invalid_request", self.rt.secrets.list, limit=0)
        self.raises(400, "invalid_request", self.rt.secrets.set, "PY_CAT",
                    "x", category="nonsense")

    def test_list_filters(self):
        """list: category, secret_scope, limit; never a value"""
        s = self.rt.secrets
        s.set("PY_AGENT1", "a", category="agent")
        s.set("PY_AGENT2", "b", category="agent")
        names = sorted(x["name"] for x in s.list(category="agent"))
        self.assertEqual(names, ["PY_AGENT1", "PY_AGENT2"])
        user = list(s.list(secret_scope="user"))
        self.assertTrue(user)
        self.assertTrue(all(x["scope"] == "user" and x["userId"] == ALICE
                            for x in user))
        org = list(s.list(secret_scope="org"))
        self.assertIn("ORG_LOCKED", [x["name"] for x in org])
        self.assertTrue(all(x["scope"] == "org" and x["userId"] is None
                            for x in org))
        both = list(s.list())
        self.assertTrue(all("value" not in x for x in both))
        self.assertEqual(len(both), len(user) + len(org))
        p = s.list(category="agent", secret_scope="user", limit=1)
        self.assertEqual(len(p.items), 1)
        self.assertTrue(p.has_next_page())
        self.assertEqual(len(list(p)), 2)

    def test_list_admin_filters_refused(self):
        """list all=True or user_id as a member: 403 forbidden"""
        self.raises(403, "forbidden", self.rt.secrets.list, all=True)
        self.raises(403, "forbidden", self.rt.secrets.list, user_id=BOB)

    def test_pagination_250(self):
        """250 secrets: pages of 100, 100, 50; iteration follows nextCursor"""
        s = self.rt.secrets
        want = ["PY_PAGE_%03d" % i for i in range(250)]
        for n in want:
            s.set(n, "v" + n, category="workflow")
        first = s.list(category="workflow", limit=100)
        self.assertEqual(len(first.items), 100)
        self.assertIsNotNone(first.next_cursor)
        sizes = [len(p.items) for p in first.pages()]
        self.assertEqual(sizes, [100, 100, 50])
        got = [x["name"] for x in s.list(category="workflow", limit=100)]
        self.assertEqual(sorted(got), want)
        self.assertEqual(len(set(got)), 250)
        # The default page size, through iter(), and from a cursor.
        self.assertEqual(sorted(x["name"] for x in
                                s.iter(category="workflow")), want)
        rest = s.list(category="workflow", limit=100,
                      cursor=first.next_cursor)
        self.assertEqual(len(list(rest)), 150)
        last = first.next_page().next_page()
        self.assertFalse(last.has_next_page())
        self.assertIsNone(last.next_page())

    def test_org_reveal_forbidden(self):
        """a member revealing an org secret (org_reveal = admins): 403"""
        m = self.rt.secrets.get("ORG_LOCKED", org_wide=True)
        self.assertEqual((m["scope"], m["userId"]), ("org", None))
        e = self.raises(403, "forbidden", self.rt.secrets.get, "ORG_LOCKED",
                        reveal=True, org_wide=True)
        self.assertNotIn("locked-value", str(e))

    def test_versions_reveal_rollback(self):
        """versions, reveal of a kept version, rollback: shapes, errors"""
        s = self.rt.secrets
        s.set("PY_VER", "ver-1")
        s.set("PY_VER", "ver-2")
        s.set("PY_VER", b"\x00\x01\xff")
        try:
            v = s.versions("PY_VER")
            self.assertEqual([(x["version"], x["current"], x["createdBy"])
                              for x in v["versions"]],
                             [(3, True, ALICE), (2, False, ALICE),
                              (1, False, ALICE)])
            self.assertEqual((v["name"], v["scope"]), ("PY_VER", "user"))
            self.assertEqual(s.get("PY_VER", reveal=True, version=1)["value"],
                             "ver-1")
            self.assertEqual(s.get("PY_VER", reveal=True,
                                   version=3)["valueBytes"], b"\x00\x01\xff")
            m = s.rollback("PY_VER", 2)
            self.assertEqual(m["version"], 4)
            self.assertNotIn("value", m)
            self.assertEqual(s.get("PY_VER", reveal=True)["value"], "ver-2")
            self.raises(409, "conflict", s.rollback, "PY_VER", 4)
            self.raises(404, "not_found", s.get, "PY_VER", reveal=True,
                        version=99)
            for bad in (0, -1, "2", 2.0, True, 2**32):
                self.raises(None, runtools._errors.INVALID_ARGUMENT,
                            s.rollback, "PY_VER", bad)
            self.raises(None, runtools._errors.INVALID_ARGUMENT, s.get,
                        "PY_VER", version=2)
            self.assertEqual(s.versions("PY_VER")["versions"][0]["version"],
                             4)
        finally:
            s.delete("PY_VER")
        self.raises(404, "not_found", s.versions, "PY_VER")

    def test_org_versions_forbidden(self):
        """a member: lists org versions; revealing one or rolling back 403"""
        v = self.rt.secrets.versions("ORG_LOCKED", org_wide=True)
        self.assertEqual(v["scope"], "org")
        self.raises(403, "forbidden", self.rt.secrets.get, "ORG_LOCKED",
                    reveal=True, org_wide=True,
                    version=v["versions"][0]["version"])
        self.raises(403, "forbidden", self.rt.secrets.rollback, "ORG_LOCKED",
                    1, org_wide=True)

    def test_org_write_forbidden(self):
        """a member setting or deleting an org secret: 403"""
        self.raises(403, "forbidden", self.rt.secrets.set, "ORG_LOCKED", "x",
                    org_wide=True)
        self.raises(403, "forbidden", self.rt.secrets.delete, "ORG_LOCKED",
                    org_wide=True)

    def test_tokens(self):
        """tokens.create, list (iterated), revoke by id and by token"""
        t = self.rt.tokens.create(description="py member", ttl_seconds=3600)
        self.assertTrue(t["token"].startswith("rts_"))
        self.assertEqual((t["userId"], t["role"], t["description"]),
                         (ALICE, "member", "py member"))
        self.assertIsNotNone(t["expiresAt"])
        ids = [x["id"] for x in self.rt.tokens.list()]
        self.assertIn(t["id"], ids)
        self.assertTrue(all("token" not in x for x in self.rt.tokens.list()))
        self.assertEqual(self.rt.tokens.revoke(t["id"]),
                         {"revoked": True, "id": t["id"]})
        self.assertNotIn(t["id"], [x["id"] for x in self.rt.tokens.list()])
        self.assertIsNone(t["scopes"])
        s = self.rt.tokens.create(description="py agent",
                                  scopes=["tools:custom-crm"])
        self.assertEqual(s["scopes"], ["tools:custom-crm"])
        self.raises(400, "invalid_request", self.rt.tokens.create,
                    scopes=["secrets:ALL"])
        self.rt.tokens.revoke(s["id"])
        t2 = self.rt.tokens.create(description="py member 2")
        self.assertIsNone(t2["expiresAt"])
        self.assertEqual(self.rt.tokens.revoke(t2["token"])["id"], t2["id"])
        self.raises(404, "not_found", self.rt.tokens.revoke, t2["id"])

    def test_token_admin_role_refused(self):
        """a member creating an admin token: 403"""
        self.raises(403, "forbidden", self.rt.tokens.create, role="admin")

    def test_tools_list_get(self):
        """tools.list and tools.get: custom-crm's action and slot"""
        names = [t["name"] for t in self.rt.tools.list()]
        self.assertIn("custom-crm", names)
        t = self.rt.tools.get("custom-crm")
        self.assertEqual(t["type"], "http")
        self.assertIn("lookup_customer", [a["name"] for a in t["actions"]])
        self.assertEqual(t["credentials"],
                         [{"slot": "apiKey", "defaultSecret": "SHARED_CRM_KEY"}])
        self.raises(404, "not_found", self.rt.tools.get, "no-such-tool")

    def test_tools_execute(self):
        """tools.execute custom-crm with the org key: redacted, key sent"""
        r = self.rt.tools.execute(
            "custom-crm", action="lookup_customer",
            params={"email": "person@example.com"},
            credential_overrides={"apiKey": "SHARED_CRM_KEY"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["status"], 200)
        self.assertEqual([(c["slot"], c["name"], c["scope"])
                          for c in r["credentials"]],
                         [("apiKey", "SHARED_CRM_KEY", "org")])
        self.assertGreaterEqual(r["redactions"], 1)
        self.assertNotIn(CRM_VALUE, json.dumps(r))
        self.assertIn("[REDACTED:apiKey]", json.dumps(r))
        with open(E("SDKT_UPLOG", "")) as f:
            last = json.loads(f.read().splitlines()[-1])
        self.assertIn("person%40example.com", last["path"])
        headers = {k.lower(): v for k, v in last["headers"]}
        self.assertEqual(headers["authorization"], "Bearer " + CRM_VALUE)

    def test_tools_execute_overrides(self):
        """overrides: an own secret by name, the org's as an object"""
        self.rt.secrets.set("PY_CRM", "py-own-crm-key", category="tool")
        r = self.rt.tools.execute("custom-crm", action="lookup_customer",
                                  params={"email": "a@example.com"},
                                  credential_overrides={"apiKey": "PY_CRM"})
        self.assertEqual([(c["name"], c["scope"], c["version"])
                          for c in r["credentials"]], [("PY_CRM", "user", 1)])
        self.assertNotIn("py-own-crm-key", json.dumps(r))
        for over in ({"name": "SHARED_CRM_KEY", "orgWide": True},
                     {"name": "SHARED_CRM_KEY", "org_wide": True}):
            r = self.rt.tools.execute(
                "custom-crm", action="lookup_customer",
                params={"email": "b@example.com"},
                credential_overrides={"apiKey": over})
            self.assertEqual([(c["name"], c["scope"])
                              for c in r["credentials"]],
                             [("SHARED_CRM_KEY", "org")])

    def test_tools_execute_refusals(self):
        """execute: unknown tool 404, unknown action and bad override 400"""
        self.raises(404, "not_found", self.rt.tools.execute, "no-such-tool",
                    action="x")
        self.raises(400, "invalid_request", self.rt.tools.execute,
                    "custom-crm", action="no_such_action")
        self.raises(400, "invalid_request", self.rt.tools.execute,
                    "custom-crm", action="lookup_customer",
                    params={"email": "x@example.com"},
                    credential_overrides={"apiKey": "1bad"})

    def test_timeout(self):
        """a call slower than its timeout: RunToolsError code timeout"""
        t0 = time.monotonic()
        self.raises(None, "timeout", self.rt.tools.execute, "slowcrm",
                    action="slow", params={"s": 5}, timeout=1)
        self.assertLess(time.monotonic() - t0, 4)
        # The timed-out connection is not reused.
        self.assertEqual(self.rt.health(timeout=5)["status"], "ok")

    def test_keepalive(self):
        """calls reuse one connection"""
        with unix_client() as rt:
            for _ in range(5):
                rt.health()
                rt.secrets.list(limit=1)
            self.assertEqual(rt._t.connections_made, 1)

    def test_threads(self):
        """one client shared by threads"""
        errs = []

        def work():
            try:
                for _ in range(10):
                    self.rt.secrets.list(limit=5)
            except Exception as e:  # noqa: BLE001 - reported below
                errs.append(e)
        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errs, [])


class UnixOther(Case):
    """SDKT_BOB over the unix socket: SDKT_ALICE's secret is not there."""

    def test_alice_secret_404(self):
        """bob getting, revealing, deleting alice's secret: 404 not_found"""
        with unix_client() as rt:
            for fn, kw in ((rt.secrets.get, {}),
                           (rt.secrets.get, {"reveal": True}),
                           (rt.secrets.get, {"user_id": ALICE}),
                           (rt.secrets.delete, {})):
                self.raises(404, "not_found", fn, "ALICE_ONLY", **kw)

    def test_alice_secret_unlisted(self):
        """bob's list shows his and the org's, not alice's"""
        with unix_client() as rt:
            rt.secrets.set("BOB_PY", "b")
            names = {(x["name"], x["userId"]) for x in rt.secrets.list()}
            self.assertIn(("BOB_PY", BOB), names)
            self.assertNotIn("ALICE_ONLY", {n for n, _ in names})


class UnixAdmin(Case):
    """SDKT_ADMIN (in admin_group) over the unix socket."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.rt = unix_client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.rt.close()

    def test_list_all_and_user(self):
        """all=True and user_id: every user's secrets, alice's"""
        every = list(self.rt.secrets.list(all=True))
        self.assertIn(("ALICE_ONLY", ALICE),
                      [(x["name"], x["userId"]) for x in every])
        self.assertIn("ORG_LOCKED", [x["name"] for x in every
                                     if x["scope"] == "org"])
        hers = list(self.rt.secrets.list(user_id=ALICE))
        self.assertTrue(hers)
        self.assertTrue(all(x["userId"] == ALICE for x in hers))

    def test_user_secret_meta_not_value(self):
        """an admin gets alice's metadata, never her value (403)"""
        m = self.rt.secrets.get("ALICE_ONLY", user_id=ALICE)
        self.assertEqual((m["userId"], m["version"]), (ALICE, 1))
        self.raises(403, "forbidden", self.rt.secrets.get, "ALICE_ONLY",
                    reveal=True, user_id=ALICE)

    def test_user_id_write_delete(self):
        """set and delete with user_id: in alice's name"""
        m = self.rt.secrets.set("PY_FOR_ALICE", "x", user_id=ALICE)
        self.assertEqual((m["userId"], m["createdBy"]), (ALICE, ADMIN))
        self.assertEqual(self.rt.secrets.delete("PY_FOR_ALICE",
                                                user_id=ALICE)["deleted"],
                         True)

    def test_org_secret(self):
        """org secrets: set, reveal, rotate, delete with org_wide"""
        s = self.rt.secrets
        self.assertEqual(s.get("ORG_LOCKED", org_wide=True, reveal=True)
                         ["value"], "locked-value")
        m = s.set("PY_ORG", "o1", category="tool", org_wide=True)
        self.assertEqual((m["scope"], m["userId"]), ("org", None))
        self.assertEqual(s.rotate("PY_ORG", "o2", org_wide=True)["version"], 2)
        self.assertEqual(s.get("PY_ORG", org_wide=True, reveal=True)["value"],
                         "o2")
        self.raises(404, "not_found", s.get, "PY_ORG")  # not a user secret
        self.assertEqual(s.delete("PY_ORG", org_wide=True)["scope"], "org")

    def test_admin_token(self):
        """an admin creates an admin token and sees the org's tokens"""
        t = self.rt.tokens.create(role="admin", description="py admin")
        self.assertEqual(t["role"], "admin")
        ids = {x["id"]: x["userId"] for x in self.rt.tokens.list(limit=2)}
        self.assertIn(t["id"], ids)
        self.rt.tokens.revoke(t["id"])


class Docs(Case):
    """The RunTools documentation's JavaScript lines, in Python, as admin."""

    def test_docs_lines(self):
        """reveal, execute with credentialOverrides, delete, delete org-wide"""
        rt = runtools.Client()
        rt.secrets.set("ANTHROPIC_API_KEY", "sk-ant-xxx", category="provider")
        rt.secrets.set("SHARED_CRM_KEY", CRM_VALUE, category="tool",
                       org_wide=True)

        # const revealed = await rt.secrets.get('ANTHROPIC_API_KEY',
        #     { reveal: true });
        revealed = rt.secrets.get("ANTHROPIC_API_KEY", reveal=True)
        self.assertEqual(revealed["value"], "sk-ant-xxx")

        # await rt.tools.execute('custom-crm', { action: 'lookup_customer',
        #     params: { email: 'person@example.com' },
        #     credentialOverrides: { apiKey: 'SHARED_CRM_KEY' } });
        r = rt.tools.execute("custom-crm", action="lookup_customer",
                             params={"email": "person@example.com"},
                             credential_overrides={"apiKey": "SHARED_CRM_KEY"})
        self.assertTrue(r["ok"])
        self.assertEqual(r["credentials"][0]["name"], "SHARED_CRM_KEY")
        self.assertNotIn(CRM_VALUE, json.dumps(r))

        # await rt.secrets.delete('ANTHROPIC_API_KEY');
        rt.secrets.delete("ANTHROPIC_API_KEY")
        # await rt.secrets.delete('SHARED_CRM_KEY', { orgWide: true });
        rt.secrets.delete("SHARED_CRM_KEY", org_wide=True)

        self.raises(404, "not_found", rt.secrets.get, "ANTHROPIC_API_KEY")
        self.raises(404, "not_found", rt.secrets.get, "SHARED_CRM_KEY",
                    org_wide=True)
        # Put the org key back for the tests after this one.
        rt.secrets.set("SHARED_CRM_KEY", CRM_VALUE, category="tool",
                       org_wide=True)


class Tls(Case):
    """Over TLS with SDKT_ALICE's token (run as SDKT_BOB, so the identity
    can only come from the token); RUNTOOLS_URL, RUNTOOLS_TOKEN and
    RUNTOOLS_CA_FILE set by the script."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.rt = runtools.Client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.rt.close()

    def test_identity_from_token(self):
        """set over TLS: the secret is the token user's"""
        self.assertEqual(self.rt.endpoint.scheme, "https")
        m = self.rt.secrets.set("PY_TLS", "over tls", category="agent")
        self.assertEqual((m["userId"], m["createdBy"]), (ALICE, ALICE))
        self.assertEqual(self.rt.secrets.get("PY_TLS", reveal=True)["value"],
                         "over tls")
        self.assertIn("PY_TLS", [x["name"] for x in
                                 self.rt.secrets.list(category="agent")])
        self.assertEqual(self.rt.secrets.rotate("PY_TLS", "v2")["version"], 2)
        self.assertTrue(self.rt.secrets.delete("PY_TLS")["deleted"])

    def test_value_64k(self):
        """a 64 KiB value over TLS, equal byte for byte"""
        v = value_64k()
        self.rt.secrets.set("PY_TLS_BIG", v)
        got = self.rt.secrets.get("PY_TLS_BIG", reveal=True)["value"]
        self.assertEqual(got.encode("utf-8"), v.encode("utf-8"))

    def test_keepalive(self):
        """TLS calls reuse one connection (same local port)"""
        with runtools.Client() as rt:
            rt.health()
            port = rt._t._idle[0].sock.getsockname()[1]
            for _ in range(5):
                rt.secrets.list(limit=1)
            self.assertEqual(rt._t.connections_made, 1)
            self.assertEqual(rt._t._idle[0].sock.getsockname()[1], port)

    def test_tools_execute(self):
        """tools.execute over TLS"""
        r = self.rt.tools.execute(
            "custom-crm", action="lookup_customer",
            params={"email": "person@example.com"},
            credential_overrides={"apiKey": "SHARED_CRM_KEY"})
        self.assertTrue(r["ok"])
        self.assertNotIn(CRM_VALUE, json.dumps(r))

    def test_tokens(self):
        """tokens over TLS: create, use, revoke, then 401"""
        t = self.rt.tokens.create(description="py tls")
        with runtools.Client(token=t["token"]) as rt2:
            self.assertEqual(rt2.secrets.set("PY_TLS2", "x")["userId"], ALICE)
            self.rt.tokens.revoke(t["id"])
            rt2.close()
            self.raises(401, "unauthenticated", rt2.secrets.list)

    def test_bad_token(self):
        """an unknown token: 401 unauthenticated"""
        rt = runtools.Client(token="rts_0000000000000000_" + "A" * 43)
        self.raises(401, "unauthenticated", rt.secrets.list)
        self.raises(401, "unauthenticated", rt.secrets.get, "X", reveal=True)

    def test_no_token(self):
        """no token over TLS: 401"""
        with mock.patch.dict(os.environ, {"RUNTOOLS_TOKEN": ""}):
            self.raises(401, "unauthenticated", runtools.Client().secrets.list)

    def test_health_without_token(self):
        """health over TLS needs no token"""
        with mock.patch.dict(os.environ, {"RUNTOOLS_TOKEN": ""}):
            self.assertEqual(runtools.Client().health()["status"], "ok")

    def test_other_ca(self):
        """another CA (argument or RUNTOOLS_CA_FILE), or the system's: tls_error"""
        other = E("SDKT_OTHER_CA", "")
        self.raises(None, "tls_error",
                    runtools.Client(ca_file=other).secrets.list)
        with mock.patch.dict(os.environ, {"RUNTOOLS_CA_FILE": other}):
            self.raises(None, "tls_error", runtools.Client().secrets.list)
            # The argument wins over the variable.
            self.assertEqual(runtools.Client(ca_file=CA).health()["status"],
                             "ok")
        with mock.patch.dict(os.environ, {"RUNTOOLS_CA_FILE": ""}):
            self.raises(None, "tls_error", runtools.Client().secrets.list)

    def test_missing_ca_file(self):
        """a CA file that does not exist: invalid_config, naming it"""
        e = self.raises(None, "invalid_config", runtools.Client,
                        ca_file="/nonexistent/ca.pem")
        self.assertIn("/nonexistent/ca.pem", e.message)

    def test_localhost_name(self):
        """https://localhost:PORT, the certificate's other name, works"""
        port = self.rt.endpoint.port
        ok = runtools.Client("https://localhost:%d" % port)
        self.assertEqual(ok.health()["status"], "ok")

    def test_token_file(self):
        """token files: 0600 and 0400 work, 0644/0640/0604 are refused"""
        token = os.environ["RUNTOOLS_TOKEN"]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "token")
            with open(path, "w") as f:
                f.write(token + "\n")
            env = {"RUNTOOLS_TOKEN": "", "RUNTOOLS_TOKEN_FILE": path}
            with mock.patch.dict(os.environ, env):
                for mode in (0o644, 0o640, 0o604):
                    os.chmod(path, mode)
                    e = self.raises(None, "invalid_config", runtools.Client)
                    self.assertIn("%04o" % mode, e.message)
                    self.assertIn(path, e.message)
                    self.assertNotIn(token, e.message)
                self.raises(None, "invalid_config", runtools.Client,
                            token_file=path)
                os.chmod(path, 0o600)
                rt = runtools.Client()
                self.assertEqual(rt.secrets.set("PY_FILE", "f")["userId"],
                                 ALICE)
                os.chmod(path, 0o400)
                self.assertEqual(runtools.Client(token_file=path).secrets.get(
                    "PY_FILE", reveal=True)["value"], "f")
            e = self.raises(None, "invalid_config", runtools.Client,
                            token_file=os.path.join(d, "missing"))
            self.assertIn("missing", e.message)
            empty = os.path.join(d, "empty")
            open(empty, "w").close()
            os.chmod(empty, 0o600)
            self.raises(None, "invalid_config", runtools.Client,
                        token_file=empty)

    def test_token_argument_wins(self):
        """token= wins over RUNTOOLS_TOKEN"""
        rt = runtools.Client(token="rts_0000000000000000_" + "B" * 43)
        self.raises(401, "unauthenticated", rt.secrets.list)

    def test_unreachable(self):
        """nothing listening on the port: connection_failed"""
        rt = runtools.Client("https://127.0.0.1:%s" % E("SDKT_DEAD_PORT"))
        self.raises(None, "connection_failed", rt.health)


class Config(Case):
    """No server needed: URLs, tokens, unreachable servers, timeouts."""

    def test_plain_http_token_refused(self):
        """a token over plain http to a non-loopback host: refused"""
        for url in ("http://192.0.2.1:8080", "http://secrets.example"):
            e = self.raises(None, "invalid_config", runtools.Client, url,
                            token="rts_x_y")
            self.assertIn("http", e.message)
            self.assertNotIn("rts_x_y", e.message)
        with mock.patch.dict(os.environ, {"RUNTOOLS_URL": "http://10.1.2.3",
                                          "RUNTOOLS_TOKEN": "rts_x_y"}):
            self.raises(None, "invalid_config", runtools.Client)
        # Without a token plain http is allowed (and goes nowhere here).
        runtools.Client("http://192.0.2.1:8080", token=None)

    def test_plain_http_loopback_allowed(self):
        """a token over plain http to loopback is allowed"""
        port = E("SDKT_DEAD_PORT")
        for host in ("127.0.0.1", "localhost", "[::1]"):
            rt = runtools.Client("http://%s:%s" % (host, port),
                                 token="rts_x_y")
            self.raises(None, "connection_failed", rt.health)

    def test_bad_urls(self):
        """bad URLs: invalid_config"""
        for url in ("ftp://h", "unix:", "https://", "https://h/v1",
                    "https://u:p@h", "https://h:99999", "/run/x.sock"):
            self.raises(None, "invalid_config", runtools.Client, url)

    def test_bad_token(self):
        """a token with blanks or newlines: invalid_config"""
        for t in ("rts x", "rts_x\r\nX-Evil: 1", ""):
            self.raises(None, "invalid_config", runtools.Client,
                        "unix:/nonexistent", token=t)

    def test_unreachable_unix(self):
        """no socket file: connection_failed"""
        rt = runtools.Client("unix:/nonexistent/secretd.sock")
        e = self.raises(None, "connection_failed", rt.secrets.list)
        self.assertIn("/nonexistent/secretd.sock", e.message)
        rt = runtools.Client("unix:///nonexistent/secretd.sock")
        self.assertEqual(rt.endpoint.path, "/nonexistent/secretd.sock")

    def test_default_url(self):
        """no URL anywhere: the system socket"""
        with mock.patch.dict(os.environ, {"RUNTOOLS_URL": ""}):
            self.assertEqual(str(runtools.Client().endpoint),
                             runtools.DEFAULT_URL)

    def test_silent_server_timeout(self):
        """a server that accepts and never answers: timeout"""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.sock")
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(path)
            srv.listen(1)
            try:
                rt = runtools.Client("unix:" + path, timeout=0.5)
                t0 = time.monotonic()
                self.raises(None, "timeout", rt.health)
                self.assertLess(time.monotonic() - t0, 3)
            finally:
                srv.close()

    def test_error_fields(self):
        """RunToolsError: status, code, message, request_id, str()"""
        e = RunToolsError("not_found", "no such secret", status=404,
                          request_id="abc")
        self.assertEqual((e.status, e.code, e.message, e.request_id),
                         (404, "not_found", "no such secret", "abc"))
        self.assertIn("404 not_found", str(e))
        self.assertIsInstance(e, Exception)

    def test_repr_hides_token(self):
        """repr(client) never shows the token"""
        rt = runtools.Client("unix:/x", token="rts_secret_token")
        self.assertNotIn("rts_secret_token", repr(rt))

    def test_typed(self):
        """the package ships py.typed"""
        here = os.path.dirname(runtools.__file__)
        self.assertTrue(stat.S_ISREG(os.stat(os.path.join(here, "py.typed"))
                                     .st_mode))
