#!/usr/bin/env bash
# runtools profiles and token files, against a real secretd as real users:
# token create expires in 30 days unless asked for none (--ttl never,
# --no-expiry); --output writes a 0600 file (folders made 0700) that works
# as RUNTOOLS_TOKEN_FILE and is never overwritten without --force.  A
# profile in $XDG_CONFIG_HOME/runtools/config selects a TLS URL, CA file
# and token file; --profile beats RUNTOOLS_PROFILE beats "default"; options
# and the environment beat the profile; bad lines are named FILE:LINE and a
# config file others can change is refused.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup
secretd_start

A=$E2E_ALICE B=$E2E_BOB
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
URL=https://127.0.0.1:$E2E_PORT
CA=$E2E_DIR/ca.pem
install -m 0644 "$E2E_CA" "$CA"

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}

err_like() {
	ok "$(grep -qE -- "$1" "$ERR"; echo $?)" "$2: $(head -n 1 "$ERR" | head -c 200)"
}

mode_of() { stat -c %a "$1"; }

# expires_in DESCRIPTION: seconds from now to the expiry of USER's token
# with that description, or "null".
expires_in() {
	local exp
	rt "$1" token list --json
	exp=$(jq -r --arg d "$2" '.tokens[] | select(.description == $d) | .expiresAt' "$OUT")
	if [ "$exp" = null ] || [ -z "$exp" ]; then
		echo "${exp:-missing}"
	else
		echo $(($(date -d "$exp" +%s) - $(date +%s)))
	fi
}

# near GOT WANT: |GOT - WANT| <= 120 seconds.
near() { [ "$1" != null ] && [ "$1" != missing ] && [ $(($1 - $2)) -le 120 ] && [ $(($2 - $1)) -le 120 ]; }

# --- token create: expiry ----------------------------------------------------

rt "$A" token create --description default-ttl
rc_is 0 "token create without --ttl"
ok "$(grep -q 'expires 20' "$ERR"; echo $?)" "it says when it expires: $(head -c 200 "$ERR")"
got=$(expires_in "$A" default-ttl)
ok "$(near "$got" $((30 * 86400)); echo $?)" "the default lifetime is 30 days (expires in ${got}s)"

rt "$A" token create --description never1 --ttl never
rc_is 0 "token create --ttl never"
ok "$(grep -q 'expires never' "$ERR"; echo $?)" "--ttl never: stderr says it never expires"
is "$(expires_in "$A" never1)" null "--ttl never: no expiresAt"
rt "$A" token create --description never2 --no-expiry
rc_is 0 "token create --no-expiry"
is "$(expires_in "$A" never2)" null "--no-expiry: no expiresAt"
rt "$A" token create --description two-hours --ttl 2h
rc_is 0 "token create --ttl 2h"
got=$(expires_in "$A" two-hours)
ok "$(near "$got" 7200; echo $?)" "--ttl 2h expires in two hours (${got}s)"
rt "$A" token create --description both --ttl 60 --no-expiry
rc_is 2 "--ttl 60 --no-expiry: usage error"
is "$(expires_in "$A" both)" missing "nothing was created"

# --- token create --output -------------------------------------------------

XA=$E2E_DIR/xa			# alice's XDG_CONFIG_HOME
install -d -m 0755 -o "$A" "$XA"
TOKA=$XA/runtools/tokens/alice
rt "$A" token create --description out1 --output "$TOKA"
rc_is 0 "token create --output FILE"
is "$(wc -c <"$OUT")" 0 "with --output nothing goes to standard output"
ok "$(grep -qF "written to $TOKA" "$ERR"; echo $?)" "stderr names the file: $(head -c 200 "$ERR")"
is "$(mode_of "$TOKA") $(stat -c %U "$TOKA")" "600 $A" "the token file is 0600 and the caller's"
is "$(mode_of "$XA/runtools") $(mode_of "$XA/runtools/tokens")" "700 700" "missing folders are created 0700"
ok "$(grep -qE '^rts_[^ ]+$' "$TOKA"; echo $?)" "the file holds the token"
TA1=$(cat "$TOKA")

rtx "$A" RUNTOOLS_TOKEN_FILE="$TOKA" -- --url "$URL" --ca-file "$CA" whoami --json
rc_is 0 "the --output file works as RUNTOOLS_TOKEN_FILE over TLS"
is "$(jq -r '[.userId,.auth]|join(",")' "$OUT")" "$A,token" "it authenticates as the token's user"

rt "$A" token create --description out2 --output "$TOKA"
rc_is 2 "token create --output onto an existing file: exit 2"
err_like "exists; refusing to overwrite" "the refusal says why"
is "$(cat "$TOKA")" "$TA1" "the file is unchanged"
is "$(expires_in "$A" out2)" missing "no token was created for the refused file"

chmod 0644 "$TOKA"
rt "$A" token create --description out3 --output "$TOKA" --force
rc_is 0 "--output --force replaces the file"
ok "$([ "$(cat "$TOKA")" != "$TA1" ] && grep -qE '^rts_' "$TOKA"; echo $?)" "with a new token"
is "$(mode_of "$TOKA")" 600 "and mode 0600 again"
rt "$A" token create --description out4 --force
rc_is 2 "--force without --output: usage error"
rt "$A" token create --description out5 --output "$XA/j" --json
rc_is 2 "--output with --json: usage error"

# --- profiles ----------------------------------------------------------------

XB=$E2E_DIR/xb			# bob's XDG_CONFIG_HOME
install -d -m 0700 -o "$B" "$XB" "$XB/runtools"
CONF=$XB/runtools/config
# bob holds a copy of alice's token: over TLS, only the token says alice.
install -m 0600 -o "$B" "$TOKA" "$XB/runtools/alice.token"
rt "$B" token create --description bobtok --output "$XB/runtools/bob.token"
rc_is 0 "bob's own token file"

# conf TEXT: bob's config file, 0600.
conf() {
	printf '%s\n' "$1" >"$CONF"
	chown "$B" "$CONF"
	chmod 0600 "$CONF"
}

conf "# bob's profiles
default = sock

[profile sock]
url = unix:$E2E_SOCK

[profile tls]
url = $URL     # the development server
ca_file = $CA
token_file = alice.token

[profile noca]
url = $URL
ca_file = $E2E_DIR/nonexistent.pem
token_file = ~/bob.token

[profile down]
url = https://127.0.0.1:$(free_port)
ca_file = $CA
token_file = $XB/runtools/bob.token"

# rp ARGS...: bob with his XDG_CONFIG_HOME and a home holding bob.token.
rp() { rtx "$B" XDG_CONFIG_HOME="$XB" HOME="$XB/runtools" "$@"; }
who() { jq -r '[.userId,.auth]|join(",")' "$OUT"; }

rp -- whoami --json
is "$rc $(who)" "0 $B,unix" "the default profile: the socket, as bob"
rp -- --profile tls whoami --json
is "$rc $(who)" "0 $A,token" "--profile tls: TLS URL, CA file and token file"
rp -- --profile tls secret set PROF_ONE v
rc_is 0 "secret set through the tls profile"
is "$(version "$A" PROF_ONE) $(version "$B" PROF_ONE)" "1 404" "the secret is the token user's"
rp RUNTOOLS_PROFILE=tls -- whoami --json
is "$rc $(who)" "0 $A,token" "RUNTOOLS_PROFILE selects the profile"
rp RUNTOOLS_PROFILE=tls -- --profile sock whoami --json
is "$rc $(who)" "0 $B,unix" "--profile beats RUNTOOLS_PROFILE"
rp -- whoami --json --profile tls
is "$rc $(who)" "0 $A,token" "--profile after the command works too"
rp -- run --profile tls --no-mask --secret PROF_ONE -- printenv PROF_ONE
is "$rc $(cat "$OUT")" "0 v" "run --profile"

# options and the environment beat the profile
rp RUNTOOLS_TOKEN_FILE="$XB/runtools/bob.token" -- --profile tls whoami --json
is "$rc $(who)" "0 $B,token" "RUNTOOLS_TOKEN_FILE beats the profile's token_file"
rp RUNTOOLS_URL="$URL" -- --profile down whoami --json
is "$rc $(who)" "0 $B,token" "RUNTOOLS_URL beats the profile's url"
rp -- --profile down whoami --json
rc_is 1 "the down profile alone: nothing listens (exit 1)"
rp -- --profile down --url "$URL" whoami --json
is "$rc $(who)" "0 $B,token" "--url beats the profile's url"
rp -- --profile noca whoami
rc_is 1 "a profile's missing ca_file: exit 1"
err_like nonexistent\\.pem "the message names the profile's CA file"
rp RUNTOOLS_CA_FILE="$CA" -- --profile noca whoami --json
is "$rc $(who)" "0 $B,token" "RUNTOOLS_CA_FILE beats the profile's ca_file (token_file ~/ expanded)"
rp -- --profile noca --ca-file "$CA" whoami --json
is "$rc $(who)" "0 $B,token" "--ca-file beats the profile's ca_file"

rp -- --profile nope whoami
rc_is 2 "an unknown profile: exit 2"
err_like "^runtools: $CONF: no profile nope" "it names the file and the profile"
rp RUNTOOLS_PROFILE=nope -- whoami
rc_is 2 "an unknown RUNTOOLS_PROFILE: exit 2"
rtx "$B" XDG_CONFIG_HOME="$E2E_DIR/none" -- --profile tls whoami
rc_is 2 "--profile without a config file: exit 2"
err_like "no config file $E2E_DIR/none/runtools/config" "it names the file it looked for"
rtx "$B" XDG_CONFIG_HOME="$E2E_DIR/none" RUNTOOLS_URL="unix:$E2E_SOCK" -- whoami
rc_is 0 "no config file and no profile asked for: fine"

chmod 0644 "$XB/runtools/alice.token"
rp -- --profile tls whoami
rc_is 4 "a profile's token file with mode 0644 is refused: exit 4"
err_like "token file $XB/runtools/alice.token has mode 0644" "as any token file"
chmod 0600 "$XB/runtools/alice.token"

# --- refused config files ----------------------------------------------------

chmod 0664 "$CONF"
rp -- whoami
rc_is 2 "a group-writable config file is refused: exit 2"
err_like "^runtools: $CONF has mode 0664 .*refusing" "the message names the file and its mode"
chmod 0602 "$CONF"
rp -- whoami
rc_is 2 "a world-writable config file is refused"
chmod 0644 "$CONF"
rp -- whoami --json
is "$rc $(who)" "0 $B,unix" "a config file others may read but not change is fine"
chown "$A" "$CONF"
rp -- whoami
rc_is 2 "a config file owned by another user is refused"
err_like "not owned by you" "it says so"
chown "$B" "$CONF"

# bad_conf TEXT LINE WHAT: the config is refused naming FILE:LINE.
bad_conf() {
	conf "$1"
	rp RUNTOOLS_URL="unix:$E2E_SOCK" -- whoami
	rc_is 2 "bad config ($3): exit 2"
	err_like "^runtools: $CONF:$2: " "bad config ($3): FILE:$2 named"
}
bad_conf "[profile a]
url = unix:/x
this is not a setting" 3 "a line without ="
bad_conf "# top
[profile a]
colour = blue" 3 "an unknown setting"
bad_conf "url = unix:/x" 1 "a setting outside any profile"
bad_conf "[profile a]
[profile a]" 2 "a profile defined twice"
bad_conf "[profile a]
url = unix:/x
url = unix:/y" 3 "a setting given twice"
bad_conf "

[server a]" 3 "an unknown section"
bad_conf "[profile a/b]" 1 "a bad profile name"
bad_conf "[profile a
url = unix:/x" 1 "an unclosed section"
bad_conf "[profile a]
token_file =" 2 "an empty value"
bad_conf "default = gone
[profile a]
url = unix:/x" 1 "a default that is not defined"
conf "[profile a]
url = unix:/x"
rp RUNTOOLS_URL="unix:$E2E_SOCK" -- whoami --json
is "$rc $(who)" "0 $B,unix" "a profile that is not selected is not used"

secretd_finish

done_testing
