#!/usr/bin/env bash
# runtools secret import and export, whoami and the --org-wide hints,
# against a real secretd as real users: a tricky .env file (quotes,
# escapes, multi-line values, export prefixes, comments) stored byte for
# byte; a malformed line named by number with nothing written; --dry-run
# changing nothing; the created/rotated/unchanged report; JSON files; an
# export imported by another user giving the same bytes; whoami over the
# socket and over TLS with a token; and 404s that point at the org secret.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/runtools-lib.sh"

e2e_setup
secretd_start

A=$E2E_ALICE B=$E2E_BOB ADM=$E2E_ADMIN
OUT=$E2E_DIR/out ERR=$E2E_DIR/err
W=$E2E_DIR/work
mkdir -m 0755 "$W"
CA=$E2E_DIR/ca.pem
install -m 0644 "$E2E_CA" "$CA"

rt() {
	local user=$1
	shift
	rtx "$user" RUNTOOLS_URL="unix:$E2E_SOCK" -- "$@"
}

# stored USER NAME FILE: the value the API reveals to USER, raw, into FILE
# ("value", or for bytes that are not text the decoded "valueBase64").
stored() {
	api "$1" POST "/v1/secrets/$2/reveal" | sed '$d' >"$3.json"
	if jq -e '.value == null and (.valueBase64 | type) == "string"' \
	    "$3.json" >/dev/null 2>&1; then
		jq -j .valueBase64 "$3.json" | base64 -d >"$3"
	else
		jq -j .value "$3.json" >"$3"
	fi
}

# same_bytes NAME FILE WANT_PRINTF_FORMAT: FILE holds exactly those bytes.
same_bytes() {
	printf "$3" >"$W/want"
	ok "$(cmp -s "$2" "$W/want"; echo $?)" "$1: $(od -An -c "$2" | tr -s ' ' | head -c 160)"
}

err_has() {
	ok "$(grep -qE -- "$1" "$ERR"; echo $?)" "$2: $(head -n 2 "$ERR" | head -c 200)"
}

# --- a tricky .env --------------------------------------------------------

cat >"$W/tricky.env" <<'EOF'
# a comment, then a blank line

export EXP_A=plain
UNQ=value with spaces   # a trailing comment
HASH=abc#def
  INDENTED = spaced out
SQ='single $HOME "x" \n stays'   # comment after quotes
DQ="tab\there\nnew \"quoted\" back\\slash"
ML="line one
line two
  line three"
export SQML='a
b'
EOF
chmod 0644 "$W/tricky.env"

before=$(snapshot)
rt "$A" secret import "$W/tricky.env" --dry-run
rc_is 0 "import --dry-run"
is "$(grep -c '^would create ' "$OUT")" 8 "dry run: 8 secrets would be created"
is "$(tail -n 1 "$OUT")" "8 to create, 0 to rotate, 0 unchanged (dry run: nothing changed)" \
    "dry run: the summary says nothing changed"
is "$(snapshot)" "$before" "dry run: the store is unchanged"

rt "$A" secret import "$W/tricky.env"
rc_is 0 "import of a tricky .env"
is "$(grep -c '^created .* (user, version 1)$' "$OUT")" 8 "import: 8 created"
is "$(tail -n 1 "$OUT")" "8 created, 0 rotated, 0 unchanged" "import: the summary"
stored "$A" EXP_A "$W/v"; same_bytes "export prefix" "$W/v" 'plain'
stored "$A" UNQ "$W/v"; same_bytes "unquoted with a trailing comment" "$W/v" 'value with spaces'
stored "$A" HASH "$W/v"; same_bytes "a # inside a word" "$W/v" 'abc#def'
stored "$A" INDENTED "$W/v"; same_bytes "indented, blanks around =" "$W/v" 'spaced out'
stored "$A" SQ "$W/v"; same_bytes "single quotes are literal" "$W/v" 'single $HOME "x" \\n stays'
stored "$A" DQ "$W/v"; same_bytes "double-quote escapes" "$W/v" 'tab\there\nnew "quoted" back\\slash'
stored "$A" ML "$W/v"; same_bytes "multi-line double quotes" "$W/v" 'line one\nline two\n  line three'
stored "$A" SQML "$W/v"; same_bytes "multi-line single quotes" "$W/v" 'a\nb'

rt "$A" secret import "$W/tricky.env"
rc_is 0 "the same file again"
is "$(tail -n 1 "$OUT")" "0 created, 0 rotated, 8 unchanged" "again: everything unchanged"
is "$(version "$A" DQ)" 1 "again: no version moved"

sed -i 's/^HASH=.*/HASH=changed/' "$W/tricky.env"
printf 'NEWONE="fresh"\n' >>"$W/tricky.env"
rt "$A" secret import "$W/tricky.env" --category tool
rc_is 0 "a changed file"
is "$(grep -E '^(created|rotated) ' "$OUT" | sort | tr '\n' '|')" \
    "created NEWONE (user, version 1)|rotated HASH (user, version 2)|" \
    "changed: one created, one rotated"
is "$(tail -n 1 "$OUT")" "1 created, 1 rotated, 7 unchanged" "changed: the summary"
is "$(api "$A" GET /v1/secrets/NEWONE | sed '$d' | jq -r .category)" tool \
    "--category applies to the created secret"
is "$(api "$A" GET /v1/secrets/HASH | sed '$d' | jq -r .category)" custom \
    "--category leaves a rotated secret's category"

# --- malformed files: the line, and nothing written -----------------------

bad() {
	local name=$1 line=$2 want=$3
	cat >"$W/bad.env"
	chmod 0644 "$W/bad.env"
	before=$(snapshot)
	rt "$B" secret import "$W/bad.env"
	rc_is 2 "$name: exit 2"
	err_has "line $line: .*$want" "$name: names line $line"
	err_has "nothing was imported" "$name: says nothing was imported"
	is "$(snapshot)" "$before" "$name: the store is unchanged"
}
bad "a line without =" 4 "expected NAME=VALUE" \
    < <(printf 'GOOD1=a\nGOOD2="b"\n# c\nnot a pair\nGOOD3=d\n')
bad "an invalid name" 2 "invalid secret name '1BAD'" < <(printf 'GOOD1=a\n1BAD=x\n')
bad "an unclosed quote" 2 "never closed" \
    < <(printf 'GOOD1=a\nOPEN="never\nclosed\nGOOD2=b\n')
bad "an unknown escape" 2 'unknown escape' < <(printf 'GOOD1=a\nESC="a\\qb"\n')
bad "text after the quote" 2 "after the closing quote" < <(printf 'GOOD1=a\nQ="x" junk\n')
bad "an empty value" 2 "empty" < <(printf 'GOOD1=a\nEMPTY=\n')
bad "a name twice" 3 "also set on line 1" < <(printf 'DUP=a\n\nDUP=b\n')

# --- JSON -----------------------------------------------------------------

printf '{"J1":"a\\nb","J2":"\\u00fc \\"q\\"","J3":"x"}' >"$W/s.json"
chmod 0644 "$W/s.json"
rt "$B" secret import "$W/s.json"
rc_is 0 "import of a .json file"
is "$(tail -n 1 "$OUT")" "3 created, 0 rotated, 0 unchanged" "json: 3 created"
stored "$B" J2 "$W/v"; same_bytes "json: unicode and quotes" "$W/v" '\303\274 "q"'
rtx "$B" RUNTOOLS_URL="unix:$E2E_SOCK" -- secret import - --format json \
    < <(printf '{"J1":"a\\nb","J3":"y"}')
rc_is 0 "import --format json from standard input"
is "$(tail -n 1 "$OUT")" "0 created, 1 rotated, 1 unchanged" "json stdin: rotated and unchanged"
printf '{"OK":"a",\n"N":5}' | { cat >"$W/bad.json"; chmod 0644 "$W/bad.json"; }
before=$(snapshot)
rt "$B" secret import "$W/bad.json"
rc_is 2 "json: a non-string value"
is "$(snapshot)" "$before" "json: nothing written"

# --- export, and the round trip -------------------------------------------

api "$A" POST /v1/secrets '{"name":"RT_BYTES","value":"a\r\nb\"c\\d $X `e` \u00fc\t'"'"'s\n\n"}' >/dev/null
rt "$ADM" secret set ORG_SHARED "org value" --org-wide
rc_is 0 "an admin makes an org secret"

rt "$A" secret export
rc_is 0 "export (dotenv)"
cp "$OUT" "$W/alice.env"
chmod 0644 "$W/alice.env"
err_has "skipped ORG_SHARED \(org\)" "export: an org secret a member may not reveal is skipped with a note"
ok "$(! grep -q ORG_SHARED "$W/alice.env"; echo $?)" "export: the skipped secret is not written"
is "$(grep -c '^[A-Z_0-9]*="' "$W/alice.env")" 10 "export: one line per revealable secret"

rt "$B" secret import "$W/alice.env"
rc_is 0 "another user imports the export"
same=0
for n in $(sed -n 's/^\([A-Z_0-9]*\)=.*/\1/p' "$W/alice.env"); do
	stored "$A" "$n" "$W/va"
	stored "$B" "$n" "$W/vb"
	cmp -s "$W/va" "$W/vb" || { same=1; echo "#   $n differs"; }
done
ok "$same" "export round trip: every value identical byte for byte"

rt "$A" secret export --format json
rc_is 0 "export --format json"
is "$(jq -r '.RT_BYTES' "$OUT" | od -An -c | tr -s ' ')" \
    "$(printf 'a\r\nb"c\\d $X `e` \303\274\t'"'"'s\n\n\n' | od -An -c | tr -s ' ')" \
    "export json: the exact bytes"
rt "$A" secret export --format env
rc_is 0 "export --format env"
( set -e; cd "$W"; env -i bash -c ". '$OUT'; printf %s \"\$RT_BYTES\"" >"$W/v" )
stored "$A" RT_BYTES "$W/va"
ok "$(cmp -s "$W/v" "$W/va"; echo $?)" "export env: a shell reads back the exact bytes"

rt "$ADM" secret export --org-only
rc_is 0 "an admin exports the org's"
is "$(cat "$OUT")" 'ORG_SHARED="org value"' "export --org-only: the org secret"
rt "$ADM" secret set EXP_A "admin own"
rt "$ADM" secret export --all-org
rc_is 0 "export --all-org"
err_has "skipped EXP_A \($A\): only its owner" "--all-org: another user's secret is skipped"
ok "$(grep -qx 'EXP_A="admin own"' "$OUT"; echo $?)" "--all-org: the admin's own EXP_A is exported"

# --- whoami ---------------------------------------------------------------

rt "$A" whoami --json
rc_is 0 "whoami --json over the socket"
is "$(jq -c '[.userId,.uid,.role,.orgId,.auth,.tokenId,.tokenExpiresAt]' "$OUT")" \
    "[\"$A\",$(id -u "$A"),\"member\",\"$E2E_ORG\",\"unix\",null,null]" \
    "whoami over the socket: user, uid, member, org, unix"
rt "$ADM" whoami
rc_is 0 "whoami (text)"
is "$(tr -s ' ' <"$OUT" | tr '\n' '|')" \
    "user $ADM|uid $(id -u "$ADM")|role admin|org $E2E_ORG|auth unix peer credentials|" \
    "whoami text: an admin"
ok "$(audit_lines ".user == \"$A\" and .op == \"whoami\" and .outcome == \"ok\"" |
    grep -q .; echo $?)" "whoami is audited, op whoami"

TOK=$(token_create "$A" '{"description":"whoami","ttlSeconds":3600}')
TID=$(api "$A" GET /v1/tokens | sed '$d' | jq -r '.tokens[] | select(.description=="whoami") | .id')
rtx "$A" RUNTOOLS_TOKEN="$TOK" -- --url "https://127.0.0.1:$E2E_PORT" --ca-file "$CA" whoami --json
rc_is 0 "whoami over TLS with a token"
is "$(jq -c '[.userId,.uid,.role,.auth,.tokenId]' "$OUT")" \
    "[\"$A\",null,\"member\",\"token\",\"$TID\"]" "whoami over TLS: the token's id, no uid"
ok "$(jq -e '.tokenExpiresAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")' "$OUT" >/dev/null; echo $?)" \
    "whoami over TLS: the token's expiry"
rtx "$A" RUNTOOLS_TOKEN="$TOK" -- --url "https://127.0.0.1:$E2E_PORT" --ca-file "$CA" whoami
is "$(grep '^auth' "$OUT" | tr -s ' ' | cut -d' ' -f1-3)" "auth token $TID" "whoami text: the token"
rtx "$B" RUNTOOLS_TOKEN="$TOK" RUNTOOLS_URL="unix:$E2E_SOCK" -- whoami --json
is "$(jq -c '[.userId,.uid,.auth]' "$OUT")" "[\"$A\",null,\"token\"]" \
    "a token over the socket wins over the peer: no uid"
is_error "$(tls "" GET /v1/whoami)" 401 unauthenticated "GET /v1/whoami without a token is 401"
is_error "$(tls rts_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA GET /v1/whoami)" \
    401 unauthenticated "GET /v1/whoami with an unknown token is 401"
is "$(status_of "$(api "$A" POST /v1/whoami '{}')")" 405 "POST /v1/whoami is 405"

# --- hints: the org has the name ------------------------------------------

rt "$A" secret get ORG_SHARED
rc_is 3 "get of a name only the org has: exit 3"
err_has "add --org-wide" "get: the hint names --org-wide"
rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- secret rotate ORG_SHARED < <(printf 'v\n')
rc_is 3 "rotate of a name only the org has: exit 3"
err_has "add --org-wide" "rotate: the hint names --org-wide"
ok "$(! grep -q 'secret set' "$ERR"; echo $?)" "rotate: no hint to create a shadowing user secret"
is "$(version "$A" ORG_SHARED)" 404 "rotate: no user secret was made"
rt "$A" secret delete ORG_SHARED
rc_is 3 "delete of a name only the org has: exit 3"
err_has "add --org-wide" "delete: the hint names --org-wide"
rtx "$A" RUNTOOLS_URL="unix:$E2E_SOCK" -- secret rotate NOWHERE < <(printf 'v\n')
rc_is 3 "rotate of a name nobody has: exit 3"
err_has "create it with 'runtools secret set'" "rotate of a name nobody has: points at set"
rt "$A" secret get NOWHERE
ok "$(! grep -q 'org-wide' "$ERR"; echo $?)" "get of a name nobody has: no --org-wide hint"

secretd_finish
done_testing
