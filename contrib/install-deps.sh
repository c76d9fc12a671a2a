#!/bin/sh
# Install what building and testing secretd needs on Debian 12.
#   --packaging  also what building and checking the Debian packages needs
#                (tests/pkg/test_package.sh); CI passes it
set -e
packaging=
[ "${1:-}" = --packaging ] && packaging=yes
export DEBIAN_FRONTEND=noninteractive
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-deps: installing packages needs root, and sudo is" \
		    "not installed; run this as root instead:" >&2
		echo "  su -c '$0'" >&2
		echo "(or, as root, apt-get install sudo and add yourself to" \
		    "the sudo group)" >&2
		exit 1
	fi
	SUDO=sudo
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
	build-essential autoconf automake pkg-config \
	libevent-dev libsodium-dev liblmdb-dev libssl-dev libjansson-dev \
	libseccomp-dev libcurl4-openssl-dev \
	openssl curl jq socat passwd util-linux procps lmdb-utils binutils ca-certificates \
	e2fsprogs mount strace python3 python3-setuptools python3-build python3-prometheus-client iproute2 xxd nodejs zsh fish \
	clang libclang-rt-14-dev \
	postgresql libpq-dev
if [ -n "$packaging" ]; then
	$SUDO apt-get install -y -q --no-install-recommends \
		debhelper lintian fakeroot logrotate
fi
