#!/bin/sh
# Exec test tool: leaves a child that sleeps with stdout still open, and
# one that detaches from stdout and stderr; prints their pids and exits 0.
sleep 300 &
a=$!
(exec >/dev/null 2>&1 </dev/null; exec sleep 301) &
b=$!
echo "{\"holder\": $a, \"detached\": $b}"
exit 0
