#!/bin/sh
# Exec test tool: some output on both streams, then exit 3.
echo '{"partial": true}'
echo "oops: something failed" >&2
exit 3
