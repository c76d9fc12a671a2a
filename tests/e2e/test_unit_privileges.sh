#!/bin/bash
# The daemon under the privileges the shipped systemd unit gives it: its
# capability bounding set, ambient capabilities, secure bits and
# no_new_privs, read from the built secretd.service and applied with
# setpriv(1) as systemd applies them before exec.  The broker must still
# start its front-end and runner as their users and serve.
. "${top_srcdir:?}/tests/e2e/lib.sh"

UNIT=$top_builddir/contrib/systemd/secretd.service
require_root
if ! command -v setpriv >/dev/null 2>&1; then
	echo "1..0 # SKIP setpriv(1) is not installed"
	exit 0
fi

# unit_value KEY: the unit's last KEY= line, "" if none.
unit_value() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}

# caps_arg "CAP_A CAP_B": setpriv's "+a,+b".
caps_arg() {
	local c out=
	for c in $1; do
		c=${c#CAP_}
		out="$out,+$(echo "$c" | tr 'A-Z' 'a-z')"
	done
	echo "${out#,}"
}

bset=$(unit_value CapabilityBoundingSet)
amb=$(unit_value AmbientCapabilities)
bits=$(unit_value SecureBits)
nnp=$(unit_value NoNewPrivileges)

PRIV=(setpriv --bounding-set "-all${bset:+,$(caps_arg "$bset")}")
if [ -n "$amb" ]; then
	PRIV+=(--inh-caps "-all,$(caps_arg "$amb")"
	    --ambient-caps "-all,$(caps_arg "$amb")")
fi
if [ -n "$bits" ]; then
	sb=
	for b in $bits; do sb="$sb,+${b//-/_}"; done
	PRIV+=(--securebits "${sb#,}")
fi
[ "$nnp" = yes ] && PRIV+=(--no-new-privs)

e2e_setup
# secretd_start with the unit's privileges: the same loop, another command.
"${PRIV[@]}" -- "$SECRETD" -f -c "$E2E_CONF" >>"$E2E_DIR/secretd.log" 2>&1 &
SECRETD_PID=$!
end=$((SECONDS + 10))
while [ "$SECONDS" -lt "$end" ]; do
	curl -s -m 1 -o /dev/null --unix-socket "$E2E_SOCK" \
	    http://localhost/v1/health 2>/dev/null && break
	kill -0 "$SECRETD_PID" 2>/dev/null || break
	sleep 0.05
done

echo "# ${PRIV[*]}"
ok "$(grep -q '^CapBnd:' "/proc/$SECRETD_PID/status" 2>/dev/null; echo $?)" \
    "the broker runs under the unit's privileges"
capeff=$(sed -n 's/^CapEff:\t//p' "/proc/$SECRETD_PID/status" 2>/dev/null)
# CAP_SETGID 6, CAP_SETUID 7, CAP_KILL 5, CAP_SYS_CHROOT 18
ok "$([ -n "$capeff" ] && [ $((0x$capeff & 0x400e0)) -eq $((0x400e0)) ]; echo $?)" \
    "the broker holds CAP_SETUID, CAP_SETGID, CAP_KILL and CAP_SYS_CHROOT (CapEff ${capeff:-none})"
out=$(api "$E2E_ALICE" POST /v1/secrets '{"name":"UNIT_CAPS","value":"unit-caps-value"}')
is "$(status_of "$out")" 201 "a member stores a secret through the front-end"
out=$(api "$E2E_ALICE" POST /v1/secrets/UNIT_CAPS/reveal)
is "$(status_of "$out") $(body_of "$out" | jq -r .value 2>/dev/null)" \
    "200 unit-caps-value" "and reads it back"
fe=$(frontend_pid)
is "$(stat -c %U "/proc/${fe:-0}" 2>/dev/null)" secretd \
    "the front-end runs as frontend_user"
rn=$(pgrep -P "$SECRETD_PID" -f secretd-runner | head -n 1)
is "$(stat -c %U "/proc/${rn:-0}" 2>/dev/null)" secretd-runner \
    "the runner runs as runner_user"
feeff=$(sed -n 's/^CapEff:\t//p' "/proc/${fe:-0}/status" 2>/dev/null)
feamb=$(sed -n 's/^CapAmb:\t//p' "/proc/${fe:-0}/status" 2>/dev/null)
is "$feeff $feamb" "0000000000000000 0000000000000000" \
    "the front-end keeps no capability, ambient ones included"
rneff=$(sed -n 's/^CapEff:\t//p' "/proc/${rn:-0}/status" 2>/dev/null)
rnamb=$(sed -n 's/^CapAmb:\t//p' "/proc/${rn:-0}/status" 2>/dev/null)
is "$rneff $rnamb" "0000000000000000 0000000000000000" \
    "the runner keeps no capability, ambient ones included"
ok "$(! grep -q 'giving up' "$E2E_DIR/secretd.log"; echo $?)" \
    "the broker never gave up on a child"
[ "$tap_failed" -eq 0 ] || tail -n 5 "$E2E_DIR/secretd.log" | sed 's/^/# /'
secretd_finish "under the unit's privileges"
done_testing
