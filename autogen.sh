#!/bin/sh
# Regenerate the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf --install --force
# The TAP test driver is not installed by autoreconf; take automake's own.
cp "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
