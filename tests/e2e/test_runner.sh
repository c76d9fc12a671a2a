#!/usr/bin/env bash
# secretd-runner on its own: tests/e2e/rundrive plays the broker's side of
# its channel and starts it as the broker will, as a real unprivileged
# user; upstream.py is the HTTPS (and plain HTTP) upstream; the exec test
# tools are in tests/e2e/tools.  Loopback only.  Owns its temp folder,
# both upstreams and the user when it had to create it.  RUNDRIVE_ARGS=-g
# runs the runner with seccomp in debug mode (refused calls logged, not
# fatal).
. "$top_srcdir/tests/e2e/lib.sh"

require_root
RUNNER_USER=e2e_runner
created_user=
if ! getent passwd "$RUNNER_USER" >/dev/null; then
	useradd --system --no-create-home --shell /usr/sbin/nologin \
	    "$RUNNER_USER" || { echo "Bail out! useradd failed"; exit 1; }
	created_user=1
fi

DIR=$(mktemp -d /tmp/secretd-runner.XXXXXX)
UP_PID=
PLAIN_PID=
teardown() {
	[ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null
	[ -n "$PLAIN_PID" ] && kill "$PLAIN_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$DIR"
	[ -n "$created_user" ] && userdel "$RUNNER_USER" 2>/dev/null
	return 0
}
trap teardown EXIT
chmod 0755 "$DIR"
mkdir "$DIR/tools" "$DIR/pids" "$DIR/upstream"
chown "$RUNNER_USER" "$DIR/pids"
chmod 0755 "$DIR/upstream"
cp "$top_srcdir"/tests/e2e/tools/* "$DIR/tools/"
chmod 0755 "$DIR"/tools/*
# The runner's user must be able to reach the binary, as in libexec.
install -m 0755 "$top_builddir/secretd-runner" "$DIR/secretd-runner"

# upstream_start [--plain]: prints its pid and port.
upstream_start() {
	local out=$DIR/upstream/out.$$.$RANDOM pid port i
	python3 "$top_srcdir/tests/e2e/upstream.py" --dir "$DIR/upstream" \
	    --log "$DIR/requests.log" "$@" >"$out" 2>&1 &
	pid=$!
	for i in $(seq 1 100); do
		port=$(awk '/^port / { print $2 }' "$out")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] ||
	    { echo "Bail out! upstream.py: $(cat "$out")"; exit 1; }
	echo "$pid $port"
}
read -r UP_PID UP_PORT < <(upstream_start)
read -r PLAIN_PID PLAIN_PORT < <(upstream_start --plain)
DOWN_PORT=$(free_port)

"$top_builddir/tests/e2e/rundrive" ${RUNDRIVE_ARGS:-} -r "$DIR/secretd-runner" \
    -u "$RUNNER_USER" -d "$DIR" -c "$DIR/upstream/ca.crt" -t "$DIR/tools" \
    -l "$DIR/requests.log" -p "$UP_PORT" -P "$PLAIN_PORT" -D "$DOWN_PORT"
rc=$?
if [ "$rc" -ne 0 ]; then
	for f in "$DIR"/runner-*.log; do
		echo "# --- $(basename "$f")"
		tail -n 30 "$f" | sed 's/^/# /'
	done
fi
exit "$rc"
