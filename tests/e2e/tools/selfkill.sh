#!/bin/sh
# Exec test tool: killed by its own SIGTERM.
kill -TERM $$
sleep 10
