#!/usr/bin/env bash
# PostgreSQL sees only sealed records: a pg_dump of a store holding user
# and org secrets, a rotated one (its old version kept) and a token holds
# none of their values or the token, in plain, base64 or hex (bytea's
# form in a dump), nor the root key; the names, owners and org are there
# as plain columns.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pglib.sh"

A=$E2E_ALICE
C=$E2E_ADMIN

require_root
pg_require_store
e2e_setup "versions_kept = 3"
secretd_start

rnd() { openssl rand -hex 12; }
declare -A VAL
VAL[DUMP_USER_KEY]="user-value-$(rnd)"
VAL[DUMP_ORG_KEY]="org-value-$(rnd)"
VAL[DUMP_ROTATED]="rotated-new-$(rnd)"
OLD="rotated-old-$(rnd)"

body() { jq -cn --arg n "$1" --arg v "$2" '{name: $n, value: $v}'; }
org_body() { jq -cn --arg n "$1" --arg v "$2" '{name: $n, value: $v, orgWide: true}'; }

is "$(status_of "$(api "$A" POST /v1/secrets "$(body DUMP_USER_KEY "${VAL[DUMP_USER_KEY]}")")")" \
    201 "alice creates a user secret"
is "$(status_of "$(api "$C" POST /v1/secrets "$(org_body DUMP_ORG_KEY "${VAL[DUMP_ORG_KEY]}")")")" \
    201 "the admin creates an org secret"
is "$(status_of "$(api "$A" POST /v1/secrets "$(body DUMP_ROTATED "$OLD")")")" \
    201 "alice creates a secret"
is "$(status_of "$(api "$A" POST /v1/secrets "$(body DUMP_ROTATED "${VAL[DUMP_ROTATED]}")")")" \
    200 "and rotates it (the old version is kept)"
TOKEN=$(token_create "$A" '{"description":"dump check"}')
ok "$([ -n "$TOKEN" ]; echo $?)" "alice creates a token"

for n in DUMP_USER_KEY DUMP_ROTATED; do
	is "$(api "$A" POST "/v1/secrets/$n/reveal" | sed '$d' | jq -r .value)" \
	    "${VAL[$n]}" "$n reveals its value from the PostgreSQL store"
done
is "$(api "$C" POST "/v1/secrets/DUMP_ORG_KEY/reveal?orgWide=true" |
    sed '$d' | jq -r .value)" "${VAL[DUMP_ORG_KEY]}" \
    "DUMP_ORG_KEY reveals its value from the PostgreSQL store"
is "$(api "$A" POST '/v1/secrets/DUMP_ROTATED/reveal?version=1' | sed '$d' |
    jq -r .value)" "$OLD" "the kept version reveals its value"

DUMP=$E2E_DIR/db.sql
"$PG_BIN/pg_dump" -d "$(pg_conninfo e2e "$E2E_PGDB")" -f "$DUMP" 2>"$E2E_DIR/dump.err"
is "$?" 0 "pg_dump of the store's database: $(head -n 1 "$E2E_DIR/dump.err")"
ok "$([ "$(wc -c <"$DUMP")" -gt 1000 ]; echo $?)" \
    "the dump is not empty ($(wc -c <"$DUMP") bytes)"

# the forms a byte string takes in a dump or beside it
forms() {
	printf '%s\n' "$1"
	printf '%s' "$1" | base64 -w 0; echo
	printf '%s' "$1" | xxd -p | tr -d '\n'; echo
}
found=
for v in "${VAL[@]}" "$OLD" "$TOKEN" "${TOKEN##*_}"; do
	while read -r f; do
		grep -qiF -- "$f" "$DUMP" && found="$found $f"
	done < <(forms "$v")
done
is "$found" "" "no value, kept version or token is in the dump (plain, base64, hex)"
ROOT_HEX=$(xxd -p "$E2E_DIR/state/root.key" | tr -d '\n')
ROOT_B64=$(base64 -w 0 "$E2E_DIR/state/root.key")
ok "$(! grep -qiF -e "$ROOT_HEX" -e "$ROOT_B64" "$DUMP"; echo $?)" \
    "nor the root key"

# The check above can fail: the same search finds a value put in the
# database in plain.
pg_psql_db e2e "$E2E_PGDB" -c 'CREATE TABLE public.canary (v bytea)' \
    -c "INSERT INTO public.canary VALUES (convert_to('${VAL[DUMP_USER_KEY]}', 'UTF8'))"
"$PG_BIN/pg_dump" -d "$(pg_conninfo e2e "$E2E_PGDB")" -f "$E2E_DIR/canary.sql"
hex=$(printf '%s' "${VAL[DUMP_USER_KEY]}" | xxd -p | tr -d '\n')
ok "$(grep -qiF -- "$hex" "$E2E_DIR/canary.sql"; echo $?)" \
    "the search finds a value written in plain (a bytea, hex in the dump)"

for n in DUMP_USER_KEY DUMP_ORG_KEY DUMP_ROTATED; do
	ok "$(grep -qF -- "$n" "$DUMP"; echo $?)" "the name $n is in the dump"
done
is "$(pg_psql_db e2e "$E2E_PGDB" -Atc "SELECT org || '/' || owner || '/' || name
    FROM secretd.secrets ORDER BY name")" \
    "$E2E_ORG//DUMP_ORG_KEY
$E2E_ORG/$A/DUMP_ROTATED
$E2E_ORG/$A/DUMP_USER_KEY" \
    "secretd.secrets has org, owner and name as plain columns (owner '' for org)"
is "$(pg_psql_db e2e "$E2E_PGDB" -Atc "SELECT count(*) FROM secretd.versions
    WHERE name = 'DUMP_ROTATED'")" 1 \
    "the kept version is a row of secretd.versions named DUMP_ROTATED"

secretd_finish
done_testing
