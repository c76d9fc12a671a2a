#!/usr/bin/env bash
# runtools over HTTPS: a bearer token from RUNTOOLS_TOKEN or a private token
# file, the development certificate trusted through --ca-file, the reference
# document's commands over TLS; an unknown CA, a missing, revoked or expired
# token and a token file others can read are refused with clear messages.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

DOC=${RUNTOOLS_DOC:-$top_srcdir/../shared/reference/runtools-secrets-docs.txt}

e2e_setup
secretd_start

A=$E2E_ALICE B=$E2E_BOB ADM=$E2E_ADMIN
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
URL=https://127.0.0.1:$E2E_PORT

# The development certificate, where the test users can read it.
CA=$E2E_DIR/ca.pem
install -m 0644 "$E2E_CA" "$CA"

# rtls USER TOKEN ARGS...: over TLS with --url, --ca-file and RUNTOOLS_TOKEN.
rtls() {
	local user=$1 token=$2
	shift 2
	rtx "$user" RUNTOOLS_TOKEN="$token" -- --url "$URL" --ca-file "$CA" "$@"
}

err_like() {
	ok "$(head -n 1 "$ERR" | grep -qE -- "$1"; echo $?)" \
	    "$2: $(head -n 1 "$ERR" | head -c 200)"
}

# Tokens, made with runtools over the unix socket.
rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- token create --description "alice tls"
rc_is 0 "a member token made with runtools token create over the socket"
ATOK=$(cat "$OUT")
rtx "$ADM" RUNTOOLS_URL="unix:$E2E_SOCK" -- token create --role admin --description "admin tls"
ADMTOK=$(cat "$OUT")
ok "$([ "${ATOK#rts_}" != "$ATOK" ] && [ "${ADMTOK#rts_}" != "$ADMTOK" ]; echo $?)" "both tokens look like rts_ tokens"

# --- a member token over TLS ------------------------------------------------

# bob runs the commands, so the identity can only come from alice's token.
rtls "$B" "$ATOK" secret set TLS_ONE "over tls" --category tool --description "via https"
rc_is 0 "secret set over TLS with --url, --ca-file and RUNTOOLS_TOKEN"
is "$(cat "$OUT")" "created TLS_ONE (user, version 1)" "set over TLS prints what it created"
is "$(body_of "$(api "$A" GET /v1/secrets/TLS_ONE)" | jq -r '[.userId,.createdBy,.category,.description]|join(",")')" \
    "$A,$A,tool,via https" "the secret belongs to the token's user"
is "$(version "$B" TLS_ONE)" 404 "not to the user who ran runtools"

rtls "$B" "$ATOK" secret get TLS_ONE --reveal
is "$rc $(cat "$OUT")" "0 over tls" "get --reveal over TLS"

printf 'multi\nline "quoted" \\ \xe2\x9c\x93\n\n' >"$E2E_DIR/val"
rtls "$B" "$ATOK" secret rotate TLS_ONE <"$E2E_DIR/val"
rc_is 0 "rotate over TLS, value from stdin"
rtls "$B" "$ATOK" secret get TLS_ONE --reveal
ok "$(cmp -s "$OUT" <(head -c -1 "$E2E_DIR/val"); echo $?)" \
    "over TLS a value round-trips exactly (one trailing newline dropped)"

rtls "$B" "$ATOK" --json secret get TLS_ONE
is "$(jq -S . "$OUT")" "$(body_of "$(tls "$ATOK" GET /v1/secrets/TLS_ONE)" | jq -S .)" \
    "get --json over TLS equals the API's answer over TLS"
rtls "$B" "$ATOK" --json secret list --user-only
is "$(jq -c '[.secrets[].name]' "$OUT") $(jq -c .nextCursor "$OUT")" '["TLS_ONE"] null' \
    "list --user-only --json over TLS: the token user's secrets"

rtx "$B" RUNTOOLS_URL="$URL" RUNTOOLS_TOKEN="$ATOK" -- --ca-file "$CA" secret get TLS_ONE
is "$rc $(grep '^userId: ' "$OUT")" "0 userId: $A" "RUNTOOLS_URL=https://... works like --url"
rtx "$B" RUNTOOLS_URL="https://localhost:$E2E_PORT" RUNTOOLS_TOKEN="$ATOK" -- --ca-file "$CA" secret list
rc_is 0 "the certificate's host name localhost works too"

rtls "$B" "$ATOK" secret set TLS_ORG v --org-wide
rc_is 4 "a member token cannot set an org-wide secret: exit 4"
err_like '^runtools: set TLS_ORG: .+' "org-wide refusal: one-line message"

rtls "$B" "$ATOK" token create --description "second"
rc_is 0 "token create over TLS"
T2=$(cat "$OUT")
rtls "$B" "$ATOK" --json token list
is "$(jq -r '[.tokens[].description] | sort | join(",")' "$OUT")" "alice tls,second" \
    "token list over TLS shows the token user's tokens"
rtls "$B" "$T2" secret get TLS_ONE
rc_is 0 "a token made over TLS works"

# --- the reference document over TLS, with an admin token -----------------

if [ -r "$DOC" ]; then
	# Commands exactly as printed, with their continued lines; each ends in a NUL.
	mapfile -d '' -t cmds < <(awk '
	!cont && (/^runtools secret / || /^echo .*\| *runtools secret /) { cont = 1; text = "" }
	cont {
		text = text $0
		if ($0 ~ /\\$/) { text = text "\n"; next }
		printf "%s%c", text, 0; cont = 0
	}' "$DOC")
	ok "$(( ${#cmds[@]} >= 12 ? 0 : 1 ))" "the document yields ${#cmds[@]} commands"
	failed=0
	reveals=""
	for cmd in "${cmds[@]}"; do
		# The document's lines carry no --ca-file: a function adds it,
		# the server and token come from the environment.
		# shellcheck disable=SC2016 # expanded by the inner shell
		timeout -k 5 "$E2E_TIMEOUT" runuser -u "$B" -- env -i \
		    PATH="$top_builddir:/usr/bin:/bin" HOME=/nonexistent \
		    RUNTOOLS_URL="$URL" RUNTOOLS_TOKEN="$ADMTOK" CA="$CA" \
		    bash -c 'runtools() { command runtools --ca-file "$CA" "$@"; }
		    '"$cmd" >"$OUT" 2>"$ERR"
		r=$?
		if [ "$r" -ne 0 ]; then
			failed=$((failed + 1))
			echo "# exit $r: $cmd: $(head -c 200 "$ERR")"
		fi
		case $cmd in
		*--reveal*) reveals="${reveals}[$(cat "$OUT")]" ;;
		esac
	done
	is "$failed" 0 "every document command exits 0 over TLS with an admin token"
	is "$reveals" "[new-secret-value][crm_xxx]" "the document's reveals print the rotated and the org value"
	is "$(body_of "$(api "$ADM" GET /v1/secrets/GITHUB_TOKEN)" | jq -r '[.category,.description,.createdBy]|join(",")')" \
	    "tool,GitHub fallback token,$ADM" "the document's GITHUB_TOKEN stays, the token user's"
	is "$(version "$ADM" ANTHROPIC_API_KEY) $(version "$ADM" SHARED_CRM_KEY '?orgWide=true')" "404 404" \
	    "the document's deletes removed their secrets"
else
	ok 0 "# SKIP reference document not found (set RUNTOOLS_DOC)"
fi

# --- the certificate must be trusted ---------------------------------------

OTHER=$E2E_DIR/other
mkdir -m 0755 "$OTHER"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$OTHER/key.pem" -out "$OTHER/ca.pem" -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    >/dev/null 2>&1
chmod 0644 "$OTHER/ca.pem"
ok "$(openssl x509 -in "$OTHER/ca.pem" -noout >/dev/null 2>&1; echo $?)" "another self-signed certificate made"

rtx "$B" RUNTOOLS_TOKEN="$ATOK" -- --url "$URL" --ca-file "$OTHER/ca.pem" secret set UNTRUSTED v
rc_is 1 "an unknown CA is refused with exit 1"
err_like '^runtools: set UNTRUSTED: .*[Cc]ertificate' "unknown CA: a message about the certificate"
is "$(version "$A" UNTRUSTED)" 404 "nothing was sent past the refused handshake"
rtx "$B" RUNTOOLS_TOKEN="$ATOK" -- --url "$URL" secret list
rc_is 1 "without --ca-file the development certificate is not trusted: exit 1"
err_like '^runtools: list: .*[Cc]ertificate' "system CAs: a message about the certificate"
rtx "$B" RUNTOOLS_TOKEN="$ATOK" -- --url "$URL" --ca-file "$E2E_DIR/nonexistent.pem" secret list
rc_is 1 "a missing --ca-file exits 1"
err_like 'nonexistent\.pem' "missing --ca-file: the message names the file"
rtx "$B" RUNTOOLS_TOKEN="$ATOK" -- --url "https://127.0.0.1:$(free_port)" --ca-file "$CA" secret list
rc_is 1 "nothing listening on the port: exit 1"

# RUNTOOLS_CA_FILE is the default for --ca-file; the option wins over it.
rtx "$B" RUNTOOLS_URL="$URL" RUNTOOLS_TOKEN="$ATOK" RUNTOOLS_CA_FILE="$CA" -- secret get TLS_ONE
is "$rc $(grep '^userId: ' "$OUT")" "0 userId: $A" "RUNTOOLS_CA_FILE trusts the certificate without --ca-file"
rtx "$B" RUNTOOLS_URL="$URL" RUNTOOLS_TOKEN="$ATOK" RUNTOOLS_CA_FILE="$OTHER/ca.pem" -- secret list
rc_is 1 "RUNTOOLS_CA_FILE naming another CA is refused: exit 1"
err_like '^runtools: list: .*[Cc]ertificate' "RUNTOOLS_CA_FILE, another CA: a message about the certificate"
rtx "$B" RUNTOOLS_URL="$URL" RUNTOOLS_TOKEN="$ATOK" RUNTOOLS_CA_FILE="$OTHER/ca.pem" -- --ca-file "$CA" secret list
rc_is 0 "--ca-file wins over RUNTOOLS_CA_FILE"
rtx "$B" RUNTOOLS_URL="$URL" RUNTOOLS_TOKEN="$ATOK" RUNTOOLS_CA_FILE="$E2E_DIR/nonexistent.pem" -- secret list
rc_is 1 "a missing RUNTOOLS_CA_FILE exits 1"
err_like 'nonexistent\.pem' "missing RUNTOOLS_CA_FILE: the message names the file"

# --- tokens: missing, wrong, revoked, expired ------------------------------

rtx "$B" -- --url "$URL" --ca-file "$CA" secret list
rc_is 4 "no token over TLS: exit 4"
err_like '^runtools: list: .*RUNTOOLS_TOKEN' "no token: the message says how to give one"
rtls "$B" "rts_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" secret list
rc_is 4 "an unknown token: exit 4"
err_like '^runtools: list: .+' "unknown token: one-line message"
rtls "$B" "not a token" secret list
rc_is 4 "a RUNTOOLS_TOKEN with blanks is refused: exit 4"

tid=$(printf '%s' "$T2" | cut -d_ -f2)
rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- token revoke "$tid"
is "$rc $(cat "$OUT")" "0 revoked $tid" "the second token revoked with runtools over the socket"
rtls "$B" "$T2" secret get TLS_ONE
rc_is 4 "a revoked token over TLS: exit 4"
err_like '^runtools: get TLS_ONE: .+' "revoked token: one-line message"
rtls "$B" "$ATOK" secret get TLS_ONE
rc_is 0 "the other token still works"

rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- token create --ttl 1 --description short
SHORT=$(cat "$OUT")
sleep 2.2
rtls "$B" "$SHORT" secret list
rc_is 4 "an expired token: exit 4"

# --- token files -----------------------------------------------------------

TF=$E2E_DIR/tokfile
install -d -m 0755 "$TF"
printf '%s\n' "$ATOK" >"$TF/token"
chown "$A" "$TF/token"

# rtfile USER ARGS...: over TLS with RUNTOOLS_TOKEN_FILE=$TF/token.
rtfile() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_TOKEN_FILE="$TF/token" -- --url "$URL" --ca-file "$CA" "$@"
}

chmod 0644 "$TF/token"
rtfile "$A" secret set FROM_FILE v
rc_is 4 "a token file with mode 0644 is refused: exit 4"
err_like "^runtools: token file $TF/token has mode 0644 .*refusing" "mode 0644: the message names the file, the mode and the refusal"
is "$(version "$A" FROM_FILE)" 404 "nothing was sent with the refused token file"
chmod 0640 "$TF/token"
rtfile "$A" secret set FROM_FILE v
rc_is 4 "a token file with mode 0640 is refused: exit 4"
chmod 0600 "$TF/token"
rtfile "$A" secret set FROM_FILE v
rc_is 0 "a token file with mode 0600 works (its trailing newline ignored)"
is "$(version "$A" FROM_FILE)" 1 "the secret was set with the file's token"
chmod 0400 "$TF/token"
rtfile "$A" secret get FROM_FILE --reveal
is "$rc $(cat "$OUT")" "0 v" "a token file with mode 0400 works"

chown root "$TF/token"
chmod 0644 "$TF/token"
rtfile "$A" secret list
rc_is 4 "a token file owned by someone else is refused: exit 4"
err_like "^runtools: token file $TF/token is not owned by you" "foreign token file: clear message"
chown "$A" "$TF/token"
chmod 0600 "$TF/token"

rtx "$A" RUNTOOLS_TOKEN_FILE="$TF/missing" -- --url "$URL" --ca-file "$CA" secret list
rc_is 4 "a missing RUNTOOLS_TOKEN_FILE: exit 4"
err_like "^runtools: token file $TF/missing: " "missing token file: the message names it"

: >"$TF/empty"
chown "$A" "$TF/empty"
chmod 0600 "$TF/empty"
rtx "$A" RUNTOOLS_TOKEN_FILE="$TF/empty" -- --url "$URL" --ca-file "$CA" secret list
rc_is 4 "an empty token file: exit 4"

chmod 0644 "$TF/token"
rtx "$B" RUNTOOLS_TOKEN="$ATOK" RUNTOOLS_TOKEN_FILE="$TF/token" -- --url "$URL" --ca-file "$CA" secret get TLS_ONE
rc_is 0 "RUNTOOLS_TOKEN wins: the token file is not read"
chmod 0600 "$TF/token"

# The per-user file ~/.config/runtools/token, under a real home folder.
H=$E2E_DIR/home
install -d -m 0755 -o "$A" "$H" "$H/.config" "$H/.config/runtools"
printf '%s\n' "$ATOK" >"$H/.config/runtools/token"
chown "$A" "$H/.config/runtools/token"
chmod 0644 "$H/.config/runtools/token"
rtx "$A" HOME="$H" -- --url "$URL" --ca-file "$CA" secret get FROM_FILE
rc_is 4 "\$HOME/.config/runtools/token with mode 0644 is refused: exit 4"
err_like 'runtools/token has mode 0644' "per-user token file: clear message"
chmod 0600 "$H/.config/runtools/token"
rtx "$A" HOME="$H" -- --url "$URL" --ca-file "$CA" secret get FROM_FILE
rc_is 0 "\$HOME/.config/runtools/token with mode 0600 works"

# A revoked token in a file is refused like one from the environment.
printf '%s\n' "$T2" >"$TF/token"
rtfile "$A" secret list
rc_is 4 "a revoked token from a 0600 file: exit 4"

secretd_finish

done_testing
