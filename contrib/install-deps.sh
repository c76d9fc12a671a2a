#!/bin/sh
# Install what building and testing secretd needs on Debian 12.
set -e
export DEBIAN_FRONTEND=noninteractive
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
	build-essential autoconf automake pkg-config \
	libevent-dev libsodium-dev liblmdb-dev libssl-dev libjansson-dev \
	libseccomp-dev libcurl4-openssl-dev \
	openssl curl jq socat passwd util-linux procps lmdb-utils binutils ca-certificates \
	strace python3 python3-setuptools python3-build iproute2 xxd nodejs \
	clang libclang-rt-14-dev
