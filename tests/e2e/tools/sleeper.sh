#!/bin/sh
# Exec test tool: says its pid on stderr (and in params.pidfile when
# given), starts a child, then waits until killed.
pidfile=$(sed -n 's/.*"pidfile": *"\([^"]*\)".*/\1/p')
sleep 100000 &
echo "pid $$" >&2
echo "child $!" >&2
[ -n "$pidfile" ] && echo "$$ $!" >"$pidfile"
wait
