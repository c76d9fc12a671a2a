#!/bin/sh
# Exec test tool: tries to open another process's environment and memory
# (params.pid) through /proc, and its own as a control; prints the result.
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
can() { if (exec 3<"$1") 2>/dev/null; then echo open; else echo refused; fi; }
echo "{\"environ\": \"$(can /proc/$pid/environ)\"," \
    "\"mem\": \"$(can /proc/$pid/mem)\"," \
    "\"own_environ\": \"$(can /proc/$$/environ)\"}"
