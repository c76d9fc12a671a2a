# shellcheck shell=bash
# Helpers the runtools end-to-end tests share, sourced after lib.sh: run the
# client as a real user and compare exit codes and stored versions.  They
# only read state through the API; they never start or stop the daemon.

# rtx USER VAR=VALUE... -- ARGS...: runtools as USER with exactly these
# environment variables; stdout in $OUT, stderr in $ERR, exit code in $rc.
rtx() {
	local user=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	timeout -k 5 "$E2E_TIMEOUT" runuser -u "$user" -- env -i \
	    PATH="$top_builddir:/usr/bin:/bin" HOME=/nonexistent "${envs[@]}" \
	    runtools "$@" >"$OUT" 2>"$ERR"
	rc=$?
}

# rc_is WANT NAME: $rc is WANT; stderr is shown when it is not.
rc_is() {
	is "$rc" "$1" "$2"
	[ "$rc" = "$1" ] || echo "#   stderr: $(head -c 500 "$ERR")"
}

# version USER NAME [QUERY]: the stored version (over the socket), or the
# HTTP status.
version() {
	local out
	out=$(api "$1" GET "/v1/secrets/$2${3:-}")
	if [ "$(status_of "$out")" = 200 ]; then
		body_of "$out" | jq -r .version
	else
		status_of "$out"
	fi
}
