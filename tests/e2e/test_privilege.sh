#!/usr/bin/env bash
# Privilege separation as it runs: init's file modes, the front-end's uid,
# capabilities, seccomp and chroot, and what each binary links.
# Owns its temp state folder and daemon; only reads the running processes.
. "$top_srcdir/tests/e2e/lib.sh"

FRONTEND=$top_builddir/secretd-frontend

mode_of() { stat -c %a "$1" 2>/dev/null || echo missing; }

# state_listing: every file under the state folder with mode, owner, size,
# mtime and content hash.
state_listing() {
	(cd "$E2E_DIR/state" && find . -printf '%p %m %u %s %T@\n' | sort &&
	    find . -type f -exec sha256sum {} + | sort)
}

e2e_setup
ST=$E2E_DIR/state

# --- what init leaves ---
is "$(mode_of "$ST")" 700 "init: the state folder is 0700"
is "$(stat -c %U "$ST")" root "init: the state folder belongs to root"
is "$(mode_of "$ST/root.key")" 400 "init: the root key is 0400"
is "$(stat -c %s "$ST/root.key")" 32 "init: the root key is 32 bytes"
mdb=$(find "$ST" -name '*.mdb' | sort)
if [ "$E2E_STORE" = lmdb ]; then
	ok "$([ -n "$mdb" ] && echo "$mdb" | grep -q '/data\.mdb$'; echo $?)" \
	    "init: an LMDB store exists ($(echo "$mdb" | sed "s|$ST/||g" | paste -sd" "))"
	for f in $mdb; do
		is "$(mode_of "$f")" 600 "init: store file ${f#"$ST"/} is 0600"
	done
else
	is "$mdb" "" "init: the $E2E_STORE store leaves no LMDB file in the state folder"
fi
ok "$([ -f "$ST/tls.key" ] && [ $((8#$(mode_of "$ST/tls.key") & 8#077)) -eq 0 ]; echo $?)" \
    "init: the development TLS key is not readable by group or others ($(mode_of "$ST/tls.key"))"
ok "$(openssl x509 -in "$ST/tls.crt" -noout 2>/dev/null; echo $?)" \
    "init: a development TLS certificate"

if lmdb_cases 3 "init again keeps a database's store, as a second" \
    "node's does (test_init_pg.sh)"; then
	before=$(state_listing)
	sleep 1.1	# a rewritten file would show a new mtime
	"$SECRETD" init -c "$E2E_CONF" >"$E2E_DIR/init2.out" 2>&1
	rc=$?
	ok "$([ "$rc" -ne 0 ]; echo $?)" "init a second time refuses (exit $rc)"
	ok "$([ -s "$E2E_DIR/init2.out" ]; echo $?)" \
	    "init a second time says why: $(head -n 1 "$E2E_DIR/init2.out")"
	is "$(state_listing)" "$before" "init a second time changes nothing"
fi

# --- the running front-end ---
secretd_start
fe=$(frontend_pid)
ok "$([ -n "$fe" ]; echo $?)" "the broker runs a secretd-frontend child (pid ${fe:-none})"
status=$(cat "/proc/$fe/status" 2>/dev/null)
field() { printf '%s\n' "$status" | awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print }'; }
fe_uid=$(id -u secretd)
is "$(field Uid | tr -s '\t ' ' ')" "$fe_uid $fe_uid $fe_uid $fe_uid" \
    "front-end: real, effective, saved and fs uid are frontend_user's (non-zero)"
ok "$([ "$fe_uid" -ne 0 ]; echo $?)" "front-end: that uid is not 0"
fe_gid=$(id -g secretd)
is "$(field Gid | tr -s '\t ' ' ')" "$fe_gid $fe_gid $fe_gid $fe_gid" \
    "front-end: every gid is frontend_user's group ($fe_gid)"
is "$(field Groups)" "" "front-end: no supplementary groups"
is "$(field CapEff)" 0000000000000000 "front-end: CapEff is empty"
ok "$(readlink "/proc/$fe/fd/2" | grep -q '^pipe:'; echo $?)" \
    "front-end: its stderr is the broker's log pipe, not the log file"
ok "$(grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z secretd\[[0-9]+\]: secretd-frontend\[[0-9]+\]: ' "$E2E_DIR/secretd.log"; echo $?)" \
    "front-end: its log lines reach the broker's log through the broker"
is "$(field CapPrm)" 0000000000000000 "front-end: CapPrm is empty"
is "$(field NoNewPrivs)" 1 "front-end: NoNewPrivs 1"
is "$(field Seccomp)" 2 "front-end: Seccomp 2 (filter mode)"

root=$(readlink "/proc/$fe/root")
ok "$([ -n "$root" ] && [ "$root" != / ] && [ -d "$root" ]; echo $?)" \
    "front-end: chrooted (root is $root)"
is "$(ls -A "$root" 2>&1 | head -n 5)" "" "front-end: its root is empty"
is "$(stat -c '%U %a' "$root" 2>/dev/null)" "root 555" \
    "front-end: its root belongs to root and is not writable"
fds=$(ls -l "/proc/$fe/fd" 2>/dev/null | awk '{ print $NF }')
ok "$(printf '%s\n' "$fds" | grep -q '^socket:'; echo $?)" \
    "front-end: its descriptor table is readable and holds its sockets"
is "$(printf '%s\n' "$fds" | grep -E "\.mdb|root\.key|tls\.key|$E2E_DIR/state/[^e]" | head -n 3)" "" \
    "front-end: holds no descriptor to the store, the root key or the TLS key"
is "$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$SECRETD_PID/limits")" "0 0" \
    "broker: no core dumps (RLIMIT_CORE 0), it holds the root key"

# Health over the chrooted front-end proves it serves after the drop.
out=$(api "$E2E_ALICE" GET /v1/health)
is "$(status_of "$out")" 200 "the sandboxed front-end serves requests"

# --- what the binaries link ---
# Each "is absent" check below also passes on empty output, so each tool is
# first shown to be there and to read the binary: a missing tool or a
# stripped binary fails here instead of passing on nothing.
for t in readelf ldd nm strings; do
	ok "$(command -v "$t" >/dev/null; echo $?)" "$t is installed (the link checks need it)"
done
needed() { readelf -d "$1" 2>/dev/null | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }'; }
fe_needed=$(needed "$FRONTEND")
ok "$([ -n "$fe_needed" ]; echo $?)" "secretd-frontend is dynamically linked: $(echo "$fe_needed" | paste -sd" ")"
is "$(printf '%s\n' "$fe_needed" | grep -E 'liblmdb|libsodium')" "" \
    "secretd-frontend links neither LMDB nor libsodium"
fe_ldd=$(ldd "$FRONTEND" 2>&1)
ok "$(printf '%s\n' "$fe_ldd" | grep -q '^[[:space:]]*libjansson[^ ]* => /'; echo $?)" \
    "ldd resolves secretd-frontend's libraries (libjansson among them)"
is "$(printf '%s\n' "$fe_ldd" | grep -E 'liblmdb|libsodium' | awk '{ print $1 }')" "" \
    "secretd-frontend pulls in neither, even indirectly (ldd)"
fe_dyn=$(nm -D "$FRONTEND" 2>&1)
ok "$(printf '%s\n' "$fe_dyn" | grep -qE ' U event_base_dispatch(@|$)'; echo $?)" \
    "nm -D lists secretd-frontend's imports (event_base_dispatch among them)"
is "$(printf '%s\n' "$fe_dyn" | grep -E ' (mdb_|crypto_aead|crypto_secretbox|sodium_)' | head -n 3)" "" \
    "secretd-frontend imports no mdb_, crypto_aead or sodium_ symbol"
fe_syms=$(nm "$FRONTEND" 2>&1)
ok "$(printf '%s\n' "$fe_syms" | grep -qE ' T conn_listen$'; echo $?)" \
    "nm lists secretd-frontend's own functions (conn_listen): it is not stripped"
is "$(printf '%s\n' "$fe_syms" | grep -E ' [TtDdBb] (mdb_|crypto_aead|sodium_|store_(open|commit|secret_get)|rootkey_|seal_|decide)' | head -n 3)" "" \
    "secretd-frontend contains no store, sealing, key or policy function"
fe_strings=$(strings "$FRONTEND" 2>&1)
ok "$(printf '%s\n' "$fe_strings" | grep -q 'secretd-frontend'; echo $?)" \
    "strings reads secretd-frontend (its own name is in it)"
is "$(printf '%s\n' "$fe_strings" | grep -E 'crypto_aead|xchacha20|mdb_(env|txn|get|put)' | head -n 3)" "" \
    "secretd-frontend contains no sealing or LMDB code by name"
for lib in libjansson libevent_openssl libssl.so libevent_extra; do
	is "$(needed "$SECRETD" | grep -F "$lib")" "" "secretd (the broker) does not link $lib"
done
is "$(needed "$SECRETD" | grep -cE 'liblmdb|libsodium')" 2 \
    "secretd (the broker) is the one linking LMDB and libsodium"

secretd_finish

done_testing
