#!/bin/sh
# Exec test tool: tries to open another process's environment and memory
# (params.pid) through /proc and to signal it (signal 0, which changes
# nothing), and opens its own environment as a control; prints the result.
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
can() { if (exec 3<"$1") 2>/dev/null; then echo open; else echo refused; fi; }
sig() { if kill -0 "$1" 2>/dev/null; then echo allowed; else echo refused; fi; }
echo "{\"environ\": \"$(can /proc/$pid/environ)\"," \
    "\"mem\": \"$(can /proc/$pid/mem)\"," \
    "\"signal\": \"$(sig $pid)\"," \
    "\"own_environ\": \"$(can /proc/$$/environ)\"}"
