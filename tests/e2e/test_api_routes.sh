#!/usr/bin/env bash
# Every route and query option of DESIGN section 3 against the real daemon:
# exact JSON shapes, status codes, pagination, tokens, X-Request-Id always.
# Owns its temp state folder and daemon; never talks to anything but them.
. "$top_srcdir/tests/e2e/lib.sh"

A=$E2E_ALICE
B=$E2E_BOB
C=$E2E_ADMIN
META_KEYS='["category","createdAt","createdBy","description","name","orgId","scope","updatedAt","updatedBy","userId","version"]'
REVEAL_KEYS='["category","createdAt","createdBy","description","name","orgId","scope","updatedAt","updatedBy","userId","value","version"]'
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

n_calls=0
no_reqid=""
bad_reqid=""

# call WHO METHOD PATH [BODY [CURL_ARGS...]]: sets OUT, ST and BODY, and
# keeps count of responses without X-Request-Id or whose error body names
# another request id.
call() {
	OUT=$(apix "$@")
	ST=$(status_of "$OUT")
	BODY=$(body_of "$OUT")
	local id
	id=$(header X-Request-Id)
	n_calls=$((n_calls + 1))
	echo "$id" >>"$E2E_DIR/reqids"
	[ -n "$id" ] || no_reqid="$no_reqid $2 $3 ($ST);"
	if [ "${ST:-0}" -ge 400 ] 2>/dev/null; then
		local eid
		eid=$(printf '%s\n' "$BODY" | jq -r '.error.requestId' 2>/dev/null)
		[ "$eid" = "$id" ] || bad_reqid="$bad_reqid $2 $3 ($ST);"
	fi
}

# jqis FILTER EXPECTED NAME: FILTER applied to the last BODY.
jqis() {
	local f=$1 want=$2; shift 2
	is "$(printf '%s\n' "$BODY" | jq -c "$f" 2>&1)" "$want" "$*"
}

# err STATUS CODE NAME: the last response is that JSON error.
err() {
	local st=$1 code=$2; shift 2
	is_error "$OUT" "$st" "$code" "$*"
}

# names_in: the names in the last list response, one a line, sorted.
names_in() {
	printf '%s\n' "$BODY" | jq -r '.secrets[].name' | sort
}

e2e_setup
secretd_start
: >"$E2E_DIR/reqids"

# --- health ---
call "$A" GET /v1/health
is "$ST $(printf '%s' "$BODY" | jq -c .)" '200 {"status":"ok"}' \
    "GET /v1/health over the unix socket: 200 {\"status\":\"ok\"}"
call tls: GET /v1/health
is "$ST $(printf '%s' "$BODY" | jq -c .)" '200 {"status":"ok"}' \
    "GET /v1/health over TLS needs no token"

# --- create ---
call "$A" POST /v1/secrets \
    '{"name":"GITHUB_TOKEN","value":"ghp_xxx","category":"tool","description":"GitHub fallback token"}'
is "$ST" 201 "POST /v1/secrets with a new name: 201"
jqis 'keys' "$META_KEYS" "created: the metadata has exactly the documented keys (no value)"
jqis '[.name,.scope,.userId,.orgId,.category,.description,.version,.createdBy,.updatedBy]' \
    "[\"GITHUB_TOKEN\",\"user\",\"$A\",\"$E2E_ORG\",\"tool\",\"GitHub fallback token\",1,\"$A\",\"$A\"]" \
    "created: name, scope user, owner, org, category, description, version 1, createdBy/updatedBy"
jqis "[.createdAt, .updatedAt] | map(test(\"$TS_RE\")) | all" true \
    "created: createdAt and updatedAt are RFC 3339 UTC seconds"
created_at=$(printf '%s\n' "$BODY" | jq -r .createdAt)

call "$A" POST /v1/secrets '{"name":"ANTHROPIC_API_KEY","value":"sk-ant-xxx"}'
is "$ST" 201 "create without category: 201"
jqis '[.category, .version]' '["custom",1]' "the default category is custom"

# --- rotate ---
sleep 1
call "$A" POST /v1/secrets '{"name":"GITHUB_TOKEN","value":"ghp_yyy"}'
is "$ST" 200 "POST /v1/secrets with an existing name rotates: 200"
jqis 'keys' "$META_KEYS" "rotated: the metadata has exactly the documented keys"
jqis '[.version,.category,.description,.scope]' '[2,"tool","GitHub fallback token","user"]' \
    "rotate without category/description: version 2, category and description kept"
jqis '.createdAt' "\"$created_at\"" "rotate keeps createdAt"
jqis ".updatedAt > \"$created_at\"" true "rotate moves updatedAt"

call "$A" POST /v1/secrets \
    '{"name":"GITHUB_TOKEN","value":"ghp_zzz","category":"provider","description":"rotated"}'
is "$ST" 200 "rotate with category and description: 200"
jqis '[.version,.category,.description]' '[3,"provider","rotated"]' \
    "rotate with category/description given: version 3, both replaced"

# --- get metadata ---
call "$A" GET /v1/secrets/GITHUB_TOKEN
is "$ST" 200 "GET /v1/secrets/{name}: 200"
jqis 'keys' "$META_KEYS" "GET metadata never contains the value"
jqis '[.name,.version,.category,.description,.scope,.userId]' \
    "[\"GITHUB_TOKEN\",3,\"provider\",\"rotated\",\"user\",\"$A\"]" \
    "GET metadata reflects the last rotation"
call "$A" GET /v1/secrets/NO_SUCH_SECRET
err 404 not_found "GET of a missing name: 404 not_found"

# --- reveal ---
call "$A" POST /v1/secrets/GITHUB_TOKEN/reveal
is "$ST" 200 "POST /v1/secrets/{name}/reveal: 200"
jqis 'keys' "$REVEAL_KEYS" "reveal: metadata plus value"
jqis '[.value,.version]' '["ghp_zzz",3]' "reveal returns the latest value"

odd=$'he said "hi"\n\ttab \\ back \x01 ünïcødé € 🔑'
call "$A" POST /v1/secrets "$(jq -cn --arg v "$odd" '{name:"ODD_VALUE",value:$v}')"
is "$ST" 201 "create a value with quotes, control characters and UTF-8"
call "$A" POST /v1/secrets/ODD_VALUE/reveal
is "$(printf '%s\n' "$BODY" | jq -r .value)" "$odd" \
    "reveal gives back quotes, control characters and UTF-8 exactly"
call "$A" POST /v1/secrets/NO_SUCH_SECRET/reveal
err 404 not_found "reveal of a missing name: 404 not_found"

# --- org secrets and orgWide ---
call root POST /v1/secrets \
    '{"name":"SHARED_CRM_KEY","value":"crm_xxx","category":"tool","orgWide":true}'
is "$ST" 201 "orgWide create by an admin: 201"
jqis 'keys' "$META_KEYS" "org secret: the documented keys"
jqis '[.scope,.userId,.orgId,.category,.version,.createdBy]' \
    "[\"org\",null,\"$E2E_ORG\",\"tool\",1,\"root\"]" \
    "org secret: scope org, userId null, the org, createdBy root"
call "$A" GET '/v1/secrets/SHARED_CRM_KEY?orgWide=true'
is "$ST" 200 "GET ?orgWide=true selects the org secret"
jqis '[.name,.scope,.userId]' '["SHARED_CRM_KEY","org",null]' "GET ?orgWide=true: the org secret's metadata"
call "$A" GET /v1/secrets/SHARED_CRM_KEY
err 404 not_found "without orgWide a name means the caller's own user secret (none yet): 404"
call "$A" POST /v1/secrets '{"name":"SHARED_CRM_KEY","value":"mine"}'
is "$ST" 201 "a user secret may share its name with an org secret: 201"
jqis '.scope' '"user"' "the user secret of the same name is scope user"
call "$A" GET /v1/secrets/SHARED_CRM_KEY
jqis '[.scope,.userId]' "[\"user\",\"$A\"]" "GET without orgWide now finds the user secret"
call "$A" GET '/v1/secrets/SHARED_CRM_KEY?orgWide=true'
jqis '[.scope,.version]' '["org",1]' "GET ?orgWide=true still finds the org secret"
call root POST /v1/secrets '{"name":"SHARED_CRM_KEY","value":"crm_yyy","orgWide":true}'
is "$ST" 200 "orgWide rotate: 200"
jqis '[.scope,.version,.category]' '["org",2,"tool"]' "orgWide rotate: version 2, category kept"
call root POST '/v1/secrets/SHARED_CRM_KEY/reveal?orgWide=true'
is "$ST $(printf '%s\n' "$BODY" | jq -r '.value + " " + .scope')" "200 crm_yyy org" \
    "reveal ?orgWide=true gives the org value"
call "$A" POST /v1/secrets/SHARED_CRM_KEY/reveal
is "$ST $(printf '%s\n' "$BODY" | jq -r '.value + " " + .scope')" "200 mine user" \
    "reveal without orgWide gives the caller's own value"

# --- list and its options ---
call "$B" POST /v1/secrets '{"name":"BOB_AGENT","value":"b1","category":"agent"}'
is "$ST" 201 "bob creates his own secret"
call root POST /v1/secrets '{"name":"ORG_FLOW","value":"f1","category":"workflow","orgWide":true}'
is "$ST" 201 "a second org secret"

call "$A" GET /v1/secrets
is "$ST" 200 "GET /v1/secrets: 200"
jqis 'keys' '["nextCursor","secrets"]' "list: exactly secrets and nextCursor"
jqis '.nextCursor' null "list of a few: nextCursor null"
jqis "[.secrets[] | keys == $META_KEYS] | all" true "list entries have exactly the metadata keys, never a value"
is "$(names_in | tr '\n' ' ')" "ANTHROPIC_API_KEY GITHUB_TOKEN ODD_VALUE ORG_FLOW SHARED_CRM_KEY SHARED_CRM_KEY " \
    "a member's list: own user secrets and the org's, not another user's"
jqis "[.secrets[] | select(.scope == \"user\") | .userId == \"$A\"] | all" true \
    "a member's list holds no other user's secret"

call "$A" GET '/v1/secrets?category=tool'
jqis '[.secrets[] | .name + ":" + .scope] | sort' '["SHARED_CRM_KEY:org"]' \
    "category=tool: only that category (the rotated GITHUB_TOKEN is provider now)"
call "$A" GET '/v1/secrets?category=provider'
jqis '[.secrets[].name]' '["GITHUB_TOKEN"]' "category=provider"
call "$A" GET '/v1/secrets?secretScope=user'
jqis '[.secrets[].scope] | unique' '["user"]' "secretScope=user: only user secrets"
is "$(names_in | tr '\n' ' ')" "ANTHROPIC_API_KEY GITHUB_TOKEN ODD_VALUE SHARED_CRM_KEY " \
    "secretScope=user: all of the caller's own"
call "$A" GET '/v1/secrets?secretScope=org'
jqis '[.secrets[] | .name + ":" + .scope] | sort' '["ORG_FLOW:org","SHARED_CRM_KEY:org"]' \
    "secretScope=org: only the org's secrets"
call "$A" GET '/v1/secrets?secretScope=org&category=workflow'
jqis '[.secrets[].name]' '["ORG_FLOW"]' "secretScope and category combine"
call "$A" GET '/v1/secrets?secretScope=everyone'
err 400 invalid_request "secretScope with an unknown value: 400"
call "$A" GET '/v1/secrets?category=bogus'
err 400 invalid_request "category with an unknown value: 400"

call "$C" GET '/v1/secrets?all=true'
is "$ST" 200 "all=true as an admin: 200"
jqis "[.secrets[] | (.userId // \"org\") + \":\" + .name] | map(select(. == \"$A:GITHUB_TOKEN\" or . == \"$B:BOB_AGENT\" or . == \"org:ORG_FLOW\")) | length" 3 \
    "all=true: every user's and the org's secrets"
call "$C" GET '/v1/secrets?all=true&secretScope=user&category=agent'
jqis '[.secrets[] | .userId + ":" + .name]' "[\"$B:BOB_AGENT\"]" \
    "all=true combines with secretScope and category"
call "$C" GET "/v1/secrets?user_id=$A"
is "$ST" 200 "user_id= as an admin: 200"
jqis "[.secrets[] | select(.scope == \"user\") | .userId] | unique" "[\"$A\"]" \
    "user_id=: that user's secrets only"
jqis "[.secrets[] | select(.scope == \"user\") | .name] | sort" \
    '["ANTHROPIC_API_KEY","GITHUB_TOKEN","ODD_VALUE","SHARED_CRM_KEY"]' \
    "user_id=: all of that user's secrets"

# --- admin user_id on get, create, reveal, delete ---
call "$C" GET "/v1/secrets/BOB_AGENT?user_id=$B"
is "$ST" 200 "GET ?user_id= as an admin: 200"
jqis '[.userId,.name]' "[\"$B\",\"BOB_AGENT\"]" "GET ?user_id= gives that user's secret"
call "$C" POST "/v1/secrets?user_id=$B" '{"name":"FOR_BOB","value":"from carol"}'
is "$ST" 201 "POST /v1/secrets?user_id= as an admin creates for that user: 201"
jqis '[.userId,.createdBy,.scope]' "[\"$B\",\"$C\",\"user\"]" \
    "created for another user: owner that user, createdBy the admin"
call "$B" POST /v1/secrets/FOR_BOB/reveal
is "$ST $(printf '%s\n' "$BODY" | jq -r .value)" "200 from carol" \
    "the owner reveals what an admin created for him"
call "$C" DELETE "/v1/secrets/FOR_BOB?user_id=$B"
is "$ST" 200 "DELETE ?user_id= as an admin: 200"
jqis '.' '{"deleted":true,"name":"FOR_BOB","scope":"user"}' \
    "DELETE ?user_id= body"

# --- delete ---
call "$A" DELETE /v1/secrets/GITHUB_TOKEN
is "$ST" 200 "DELETE /v1/secrets/{name}: 200"
jqis '.' '{"deleted":true,"name":"GITHUB_TOKEN","scope":"user"}' \
    "DELETE body: {deleted, name, scope}"
call "$A" GET /v1/secrets/GITHUB_TOKEN
err 404 not_found "a deleted secret is gone"
call "$A" DELETE /v1/secrets/GITHUB_TOKEN
err 404 not_found "deleting it again: 404"
call root DELETE '/v1/secrets/SHARED_CRM_KEY?orgWide=true'
jqis '.' '{"deleted":true,"name":"SHARED_CRM_KEY","scope":"org"}' \
    "DELETE ?orgWide=true deletes the org secret"
call "$A" GET /v1/secrets/SHARED_CRM_KEY
jqis '.scope' '"user"' "the user secret of the same name survives the org delete"
call "$A" GET '/v1/secrets/SHARED_CRM_KEY?orgWide=true'
err 404 not_found "the org secret is gone"

# --- pagination over 250 secrets ---
for i in $(seq -w 0 249); do
	printf '{"name":"PAGE_%s","value":"v%s","category":"workflow"}\n' "$i" "$i"
done >"$E2E_DIR/pages.jsonl"
created=0
while read -r body; do
	st=$(api "$B" POST /v1/secrets "$body" | tail -n 1)
	[ "$st" = 201 ] && created=$((created + 1))
done <"$E2E_DIR/pages.jsonl"
is "$created" 250 "bob creates 250 secrets"

call "$B" GET '/v1/secrets?secretScope=user&category=workflow'
is "$(printf '%s\n' "$BODY" | jq '.secrets | length') $(printf '%s\n' "$BODY" | jq -r '.nextCursor | type')" \
    "100 string" "no limit: a page of 100 (the default) and a nextCursor"
: >"$E2E_DIR/paged"
cursor=""
pages=""
for _ in 1 2 3 4 5; do
	q="/v1/secrets?secretScope=user&category=workflow&limit=100"
	[ -n "$cursor" ] && q="$q&cursor=$cursor"
	call "$B" GET "$q"
	[ "$ST" = 200 ] || break
	pages="$pages$(printf '%s\n' "$BODY" | jq '.secrets | length') "
	printf '%s\n' "$BODY" | jq -r '.secrets[].name' >>"$E2E_DIR/paged"
	cursor=$(printf '%s\n' "$BODY" | jq -r '.nextCursor // empty | @uri')
	[ -n "$cursor" ] || break
done
is "$pages" "100 100 50 " "limit=100 with cursor: pages of 100, 100, 50, then nextCursor null"
is "$(sort -u "$E2E_DIR/paged" | wc -l) $(wc -l <"$E2E_DIR/paged")" "250 250" \
    "the pages hold 250 names and no duplicate"
is "$(sort "$E2E_DIR/paged" | md5sum)" "$(seq -w 0 249 | sed 's/^/PAGE_/' | md5sum)" \
    "the pages hold exactly the 250 created names"
call "$B" GET '/v1/secrets?secretScope=user&category=workflow&limit=1000'
is "$(printf '%s\n' "$BODY" | jq -c '[(.secrets | length), .nextCursor]')" "[250,null]" \
    "limit=1000: all 250 in one page, nextCursor null"
call "$B" GET '/v1/secrets?secretScope=user&limit=1'
is "$(printf '%s\n' "$BODY" | jq -c '[(.secrets | length), (.nextCursor | type)]')" '[1,"string"]' \
    "limit=1: one secret and a cursor"
call "$C" GET "/v1/secrets?user_id=$B&category=workflow&limit=200"
is "$(printf '%s\n' "$BODY" | jq -c '[(.secrets | length), (.nextCursor | type)]')" '[200,"string"]' \
    "an admin pages user_id= listings too"
for bad in 0 1001 -1 abc; do
	call "$B" GET "/v1/secrets?limit=$bad"
	err 400 invalid_request "limit=$bad: 400"
done
call "$B" GET '/v1/secrets?cursor=not-a-cursor%00%ff'
err 400 invalid_request "a cursor the daemon did not make: 400"

# --- tokens ---
call "$A" POST /v1/tokens '{"description":"alice ci"}'
is "$ST" 201 "POST /v1/tokens: 201"
tok_a=$(printf '%s\n' "$BODY" | jq -r '.token // empty')
id_a=$(printf '%s\n' "$BODY" | jq -r '.id // empty')
ok "$([[ $tok_a =~ ^rts_[A-Za-z0-9_-]{40,}$ ]]; echo $?)" "the token is shown once, as rts_..."
jqis '[.userId,.orgId,.role,.description]' "[\"$A\",\"$E2E_ORG\",\"member\",\"alice ci\"]" \
    "token metadata: user, org, role member, description"
secret_part=${tok_a#rts_}
secret_part=${secret_part#"${id_a}"_}
ok "$([[ $id_a =~ ^[0-9a-f]{16}$ ]] && [ "${#secret_part}" -ge 43 ]; echo $?)" \
    "the token has a 16-hex-digit id and 32 random bytes beyond it"
call "tls:$tok_a" GET '/v1/secrets?secretScope=user'
is "$ST $(names_in | head -n 1)" "200 ANTHROPIC_API_KEY" "the token works over TLS as its user"
call "tls:$tok_a" POST /v1/secrets '{"name":"VIA_TLS","value":"t"}'
is "$ST $(printf '%s\n' "$BODY" | jq -r '.createdBy + ":" + .userId')" "201 $A:$A" \
    "create over TLS with a token: owned by the token's user"
call "$A" POST /v1/tokens '{"description":"want admin","role":"admin"}'
err 403 forbidden "a member cannot create an admin token"
call "$C" POST /v1/tokens '{"description":"carol admin","role":"admin","ttlSeconds":3600}'
is "$ST" 201 "an admin creates an admin token with a lifetime"
jqis '.role' '"admin"' "admin token: role admin"
jqis '(.expiresAt | type) == "string" and (.expiresAt > .createdAt)' true \
    "a token with a lifetime has an expiresAt after createdAt"
id_c=$(printf '%s\n' "$BODY" | jq -r '.id // empty')
call "$B" POST /v1/tokens '{"description":"bob"}'
id_b=$(printf '%s\n' "$BODY" | jq -r '.id // empty')
tok_b=$(printf '%s\n' "$BODY" | jq -r '.token // empty')

call "$A" GET /v1/tokens
is "$ST" 200 "GET /v1/tokens: 200"
jqis '[.tokens[].id]' "[\"$id_a\"]" "a member lists only her own tokens"
printf '%s\n' "$BODY" | grep -q 'rts_'
ok $((1 - $?)) "a token list never shows a token string"
call "$C" GET /v1/tokens
jqis "[.tokens[].id] | sort" "$(printf '%s\n' "$id_a" "$id_b" "$id_c" | jq -R . | jq -sc sort)" \
    "an admin lists the org's tokens"
call "$B" DELETE "/v1/tokens/$id_a"
if [ "$ST" = 403 ]; then
	err 403 forbidden "a member cannot revoke another's token"
else
	err 404 not_found "a member cannot revoke another's token"
fi
call "tls:$tok_a" GET /v1/secrets
is "$ST" 200 "that token still works"
call "$A" DELETE "/v1/tokens/$id_a"
is "$ST" 200 "DELETE /v1/tokens/{id} by its owner: 200"
jqis '.id' "\"$id_a\"" "revoke answers with the token's id"
call "tls:$tok_a" GET /v1/secrets
err 401 unauthenticated "a revoked token is refused"
call "$A" DELETE "/v1/tokens/$id_a"
err 404 not_found "revoking it again: 404"
call "$C" DELETE "/v1/tokens/$id_b"
is "$ST" 200 "an admin revokes a member's token"
call "tls:$tok_b" GET /v1/secrets
err 401 unauthenticated "the member's token is refused after that"
call tls: GET /v1/secrets
err 401 unauthenticated "TLS without a token: 401"

# --- unknown routes and wrong methods ---
for p in /v1/nope / /v2/secrets /v1/secretsX /v1/tokensX /v1/healthz; do
	call "$A" GET "$p"
	err 404 not_found "GET $p: 404"
done
# Below /v1/secrets/ an extra segment reads as a name with a slash.
call "$A" GET /v1/secrets/X/bogus
if [ "$ST" = 400 ]; then
	err 400 invalid_request "GET /v1/secrets/X/bogus: 400 (an invalid name) or 404"
else
	err 404 not_found "GET /v1/secrets/X/bogus: 404 or 400 (an invalid name)"
fi
for mp in "PUT /v1/secrets" "PATCH /v1/secrets/ANTHROPIC_API_KEY" \
    "GET /v1/secrets/ANTHROPIC_API_KEY/reveal" "POST /v1/health" \
    "PUT /v1/tokens" "DELETE /v1/secrets" "GET /v1/tokens/abc"; do
	call "$A" "${mp% *}" "${mp#* }"
	is "$ST $(printf '%s\n' "$BODY" | jq -r '.error.code | type' 2>/dev/null)" "405 string" \
	    "$mp: 405 with a JSON error"
done

# --- X-Request-Id ---
is "$no_reqid" "" "every one of $n_calls responses carried X-Request-Id"
is "$bad_reqid" "" "every error body's requestId equals its X-Request-Id"
is "$(grep -c . "$E2E_DIR/reqids") $(grep . "$E2E_DIR/reqids" | sort -u | wc -l)" \
    "$n_calls $n_calls" "request ids are unique"

secretd_finish

done_testing
