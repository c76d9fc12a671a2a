#!/usr/bin/env bash
# runtools run against a real secretd, as real users: which secret each
# variable gets (user before org, --org-wide, --env, --category), refused
# reveals and refused variables, masking of the command's output, and the
# exit status, signals and stdin passing through.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup
secretd_start

A=$E2E_ALICE ADM=$E2E_ADMIN
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
W=$E2E_DIR/work
mkdir -m 0777 "$W"
M='<concealed by runtools>'

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}

# setsec USER NAME VALUE [FLAGS...]: a secret, through the CLI.
setsec() {
	local user=$1 name=$2 value=$3
	shift 3
	rt "$user" secret set "$name" "$@" < <(printf '%s' "$value")
	[ "$rc" = 0 ] || echo "# setting $name failed: $(cat "$ERR")"
}

# envof VAR: what the command saw in VAR, written to a file (not masked).
envof() { printf 'printf %%s "${%s-UNSET}" >%s/%s' "$1" "$W" "$1"; }
got() { cat "$W/$1" 2>/dev/null; rm -f "$W/$1"; }

setsec "$ADM" DUP "user-dup-value"
setsec "$ADM" DUP "org-dup-value" --org-wide
setsec "$ADM" ORG_ONLY "org-only-value" --org-wide
setsec "$A" MSK "s3cr3t-value-42"
setsec "$A" OTHER "other-value-77"
setsec "$A" PYLIB "/tmp/evil"
setsec "$A" CAT_A "cat-a-value" --category provider
setsec "$A" CAT_C "cat-c-value" --category tool
setsec "$ADM" CAT_B "cat-b-value" --org-wide --category provider
setsec "$ADM" CAT_X "cat-x-value" --org-wide --category agent

# --- which secret ----------------------------------------------------------

rt "$ADM" run --secret DUP -- sh -c "$(envof DUP)"
is "$rc $(got DUP)" "0 user-dup-value" "--secret NAME: the caller's secret wins over the org's"
rt "$ADM" run --secret DUP --org-wide -- sh -c "$(envof DUP)"
is "$rc $(got DUP)" "0 org-dup-value" "--org-wide: the org's secret"
rt "$ADM" run --secret ORG_ONLY -- sh -c "$(envof ORG_ONLY)"
is "$rc $(got ORG_ONLY)" "0 org-only-value" "no user secret of the name: the org's"
rt "$ADM" run --env MY_VAR=DUP -- sh -c "$(envof MY_VAR); $(envof DUP)"
is "$rc $(got MY_VAR) $(got DUP)" "0 user-dup-value UNSET" "--env VAR=NAME sets VAR only"
rt "$A" run --secret MSK --env X1=OTHER -- sh -c "$(envof MSK); $(envof X1)"
is "$rc $(got MSK) $(got X1)" "0 s3cr3t-value-42 other-value-77" "--secret and --env together"
rt "$A" run --category provider -- sh -c "$(envof CAT_A); $(envof CAT_C); $(envof MSK)"
is "$rc $(got CAT_A) $(got CAT_C) $(got MSK)" "0 cat-a-value UNSET UNSET" \
    "--category: the caller's secrets of that category only"
rt "$ADM" run --category provider -- sh -c "$(envof CAT_B); $(envof CAT_A)"
is "$rc $(got CAT_B) $(got CAT_A)" "0 cat-b-value UNSET" "--category: the org's secrets of that category"
rt "$A" run --category agent -- sh -c "$(envof CAT_X); echo ran >$W/ran"
is "$rc $(got CAT_X) $(got ran)" "0 UNSET ran" \
    "--category: an org secret the member may not reveal is left out"
ok "$(grep -q 'skipping org secret CAT_X' "$ERR"; echo $?)" "--category: the skipped secret is named"
rt "$A" run --secret MSK -- sh -c 'echo "$RUNTOOLS_URL" >'"$W/url"
is "$rc $(got url)" "0 unix:$E2E_SOCK" "the rest of the environment is passed on"

# --- refusals ---------------------------------------------------------------

rt "$A" run --secret ORG_ONLY -- sh -c "echo ran >$W/ran"
is "$rc $(got ran)" "4 " "a refused reveal (org_reveal = admins) exits 4 and COMMAND does not run"
ok "$(grep -q '^runtools: run: reveal ORG_ONLY' "$ERR"; echo $?)" "the refusal is explained: $(head -n1 "$ERR")"
rt "$ADM" run --secret DUP --secret NO_SUCH -- sh -c "echo ran >$W/ran"
is "$rc $(got ran)" "3 " "a missing secret exits 3 and COMMAND does not run"
ok "$(grep -q '^runtools: run: no such secret NO_SUCH' "$ERR"; echo $?)" "the missing secret is named"
rt "$A" run --secret MSK --env MSK=OTHER -- true
rc_is 2 "a variable given twice is a usage error"
for v in LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT BASH_ENV ENV PATH PYTHONPATH \
    NODE_OPTIONS PERL5OPT IFS; do
	rt "$A" run --env "$v=PYLIB" -- sh -c "echo ran >$W/ran"
	is "$rc $(got ran)" "2 " "refuses to set $v"
done
ok "$(grep -q 'allow-env PERL5OPT\|allow-env IFS' "$ERR"; echo $?)" "the refusal names --allow-env"
rt "$A" run --env PYTHONPATH=PYLIB --allow-env PYTHONPATH -- sh -c "$(envof PYTHONPATH)"
is "$rc $(got PYTHONPATH)" "0 /tmp/evil" "--allow-env VAR lets it be set"
rt "$A" run --env PYTHONPATH=PYLIB --allow-env NODE_OPTIONS -- true
rc_is 2 "--allow-env of another variable does not"
setsec "$ADM" LD_AUDIT "x" --org-wide --category workflow
rt "$ADM" run --category workflow -- sh -c "echo ran >$W/ran"
is "$rc $(got ran)" "2 " "--category refuses a dangerous name too"
rt "$A" run --secret MSK -- /nonexistent/cmd
rc_is 127 "a COMMAND that cannot be found exits 127"

# --- masking ---------------------------------------------------------------

rt "$A" run --secret MSK -- sh -c 'echo "out $MSK end"; echo "err $MSK end" >&2'
is "$rc $(cat "$OUT")" "0 out $M end" "stdout: the value is masked"
is "$(cat "$ERR")" "err $M end" "stderr: the value is masked"
rt "$A" run --secret MSK -- sh -c 'printf "a s3cr3t-"; sleep 0.3; printf "val"; sleep 0.3; printf "ue-42 b\n"'
is "$(cat "$OUT")" "a $M b" "a value split across writes is masked"
rt "$A" run --secret MSK -- sh -c 'printf %s "$MSK"'
ok "$(cmp -s "$OUT" <(printf '%s' "$M"); echo $?)" "a value printed without newline at the end is masked"
rt "$A" run --secret MSK -- sh -c 'printf "s3cr3t-valu"'
ok "$(cmp -s "$OUT" <(printf 's3cr3t-valu'); echo $?)" "a prefix of a value at the end passes unchanged"
rt "$A" run --secret MSK --secret OTHER -- sh -c 'printf "%s%s|x\000y\n" "$MSK" "$OTHER"'
ok "$(cmp -s "$OUT" <(printf '%s%s|x\000y\n' "$M" "$M"); echo $?)" \
    "two values back to back, everything else byte for byte"
head -c 300000 /dev/urandom | base64 >"$W/big"
rt "$A" run --secret MSK -- cat "$W/big"
ok "$(cmp -s "$OUT" "$W/big"; echo $?)" "a large output passes unchanged"
rt "$A" run --no-mask --secret MSK -- sh -c 'echo "out $MSK"; echo "err $MSK" >&2'
is "$rc $(cat "$OUT") $(cat "$ERR")" "0 out s3cr3t-value-42 err s3cr3t-value-42" "--no-mask: unfiltered"
timeout -k 5 "$E2E_TIMEOUT" runuser -u "$A" -- env -i PATH="$top_builddir:/usr/bin:/bin" \
    HOME=/nonexistent RUNTOOLS_URL="unix:$E2E_SOCK" \
    script -qec "runtools run --secret MSK -- sh -c 'printf \"l1 \$MSK\\nl2\"; sleep 0.3; printf \" \$MSK\\n\"'" \
    /dev/null >"$OUT" 2>"$ERR" </dev/null
ok "$(cmp -s "$OUT" <(printf 'l1 %s\r\nl2 %s\r\n' "$M" "$M"); echo $?)" \
    "on a terminal: masked, line by line"

# --- exit status, signals, stdin ---------------------------------------------

rt "$A" run --secret MSK -- sh -c 'exit 7'
rc_is 7 "the exit status passes through"
rt "$A" run --no-mask --secret MSK -- sh -c 'exit 7'
rc_is 7 "the exit status passes through (--no-mask)"
rt "$A" run --secret MSK -- sh -c 'kill -TERM $$'
rc_is 143 "COMMAND killed by SIGTERM: runtools dies of it too (143)"
rt "$A" run --secret MSK -- sh -c 'kill -KILL $$'
rc_is 137 "COMMAND killed by SIGKILL: 137"
printf 'line one\nline two\n' >"$W/in"
rt "$A" run --secret MSK -- cat <"$W/in"
is "$rc $(cat "$OUT")" "0 line one
line two" "stdin passes through"

# SIGINT sent to runtools reaches the command, which traps it.
timeout -k 5 "$E2E_TIMEOUT" runuser -u "$A" -- env -i --default-signal=INT \
    PATH="$top_builddir:/usr/bin:/bin" HOME=/nonexistent \
    RUNTOOLS_URL="unix:$E2E_SOCK" runtools run --secret MSK \
    --env A_LONG_VARIABLE_NAME_FOR_THE_MEMORY_CHECK=MSK -- \
    sh -c 'trap "echo got-int; exit 42" INT; echo ready; while :; do sleep 0.1; done' \
    >"$OUT" 2>"$ERR" &
bg=$!
for _ in $(seq 100); do grep -q ready "$OUT" 2>/dev/null && break; sleep 0.1; done
rtpid=$(pgrep -u "$A" -x runtools | head -n 1)
ok "$([ -n "$rtpid" ] && ! tr '\0' ' ' <"/proc/$rtpid/cmdline" | grep -q s3cr3t; echo $?)" \
    "the value is not on runtools' command line: $(tr '\0' ' ' <"/proc/$rtpid/cmdline" 2>/dev/null)"
ok "$(! grep -qa s3cr3t "/proc/$rtpid/environ"; echo $?)" "nor in runtools' own environment"
python3 - "$rtpid" >"$W/mem" 2>&1 <<'EOF'
import re, sys
pid = sys.argv[1]
found = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r)", line)
        if not m or "[vvar]" in line:
            continue
        a, b = int(m.group(1), 16), int(m.group(2), 16)
        if b - a > 1 << 30:	# a sanitizer's shadow memory
            continue
        prev = b""
        while a < b:
            n = min(b - a, 1 << 24)
            try:
                mem.seek(a)
                chunk = mem.read(n)
            except OSError:
                break
            if b"_MEMORY_CHECK=s3cr3t-value-42" in prev[-64:] + chunk:
                found += 1
            prev, a = chunk, a + n
print(found)
EOF
is "$(cat "$W/mem")" 0 "the environment entry is wiped from runtools' memory once the command runs"
kill -INT "$rtpid"
wait "$bg"
is "$? $(cat "$OUT")" "42 ready
got-int" "SIGINT is forwarded: the command traps it and its exit code passes through"

secretd_finish
done_testing
