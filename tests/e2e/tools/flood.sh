#!/bin/sh
# Exec test tool: prints 10 MiB on stdout.
exec head -c 10485760 /dev/zero
