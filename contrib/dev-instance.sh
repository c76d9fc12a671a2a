#!/bin/sh
# Start a development secretd from the build folder (build-dev/, or
# BUILDDIR) on its embedded default: everything lives in ./dev (LMDB store,
# root key, self-signed TLS certificate, unix socket dev/secretd.sock), TLS
# on 127.0.0.1:8443, or the next free port when 8443 is taken, or the port
# SECRETD_DEV_PORT names.  The folders and the socket are the owner's only
# (0700, 0600); run as root, the tool runner's group may also pass through
# dev/ (0710, no listing, no writing) to read a tool's ca_file or command
# kept under it.  Runs in the foreground; Ctrl-C stops it.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${BUILDDIR:-}" ]; then
	builddir=$BUILDDIR
elif [ -x "$top/build-dev/secretd" ] || [ ! -x "$top/secretd" ]; then
	builddir=$top/build-dev
else
	builddir=$top		# an older build configured in the source tree
fi
if [ ! -x "$builddir/secretd" ]; then
	echo "dev-instance: no $builddir/secretd; build it first:" >&2
	echo "  mkdir -p build-dev && (cd build-dev && ../configure && make)" >&2
	exit 1
fi

# in_use PORT: something on this host listens on the TCP port.
in_use() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		! python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
	fi
}

dev=$top/dev
old_umask=$(umask)
umask 077
mkdir -p "$dev"
chmod 0700 "$dev"
[ ! -d "$dev/state" ] || chmod 0700 "$dev/state"
conf=$dev/secretd.conf
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# Development instance: paths are relative to this folder.
state_dir = state
socket = secretd.sock
socket_mode = 0600
listen = 127.0.0.1:8443
org = dev
admin_group = $(id -gn)
org_reveal = admins
frontend_user = secretd
CONF
fi
# A config written by an older version of this script: owner-only socket.
grep -q '^socket_mode[[:space:]]*=' "$conf" ||
    sed -i 's/^socket = .*/&\nsocket_mode = 0600/' "$conf"

# The TLS port: SECRETD_DEV_PORT, else the configured one while it is
# free, else the next free one from 8443 on.
if [ -n "${SECRETD_DEV_PORT:-}" ]; then
	case $SECRETD_DEV_PORT in
	*[!0-9]*) echo "dev-instance: SECRETD_DEV_PORT=$SECRETD_DEV_PORT:" \
	    "not a port number" >&2; exit 1 ;;
	esac
	port=$SECRETD_DEV_PORT
else
	port=$(sed -n 's/^listen = 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$conf")
	[ -n "$port" ] || port=8443
	if in_use "$port"; then
		taken=$port
		port=8443
		while in_use "$port" && [ "$port" -lt 8543 ]; do
			port=$((port + 1))
		done
		if in_use "$port"; then
			echo "dev-instance: ports 8443 to 8543 are all taken;" \
			    "set SECRETD_DEV_PORT" >&2
			exit 1
		fi
		echo "dev-instance: port $taken is taken; using $port" >&2
	fi
fi
sed -i "s/^listen = .*/listen = 127.0.0.1:$port/" "$conf"
grep -q '^listen = ' "$conf" || echo "listen = 127.0.0.1:$port" >>"$conf"

# The front-end and the tool runner each run as their own system user;
# the runner reads a tool's ca_file or command itself.
if [ "$(id -u)" -eq 0 ]; then
	for u in secretd secretd-runner; do
		getent passwd "$u" >/dev/null ||
		    useradd --system --no-create-home \
		    --shell /usr/sbin/nologin "$u"
	done
	chgrp "$(id -g secretd-runner)" "$dev"
	chmod 0710 "$dev"
fi
[ -f "$dev/state/root.key" ] || "$builddir/secretd" init -c "$conf"
umask "$old_umask"
echo "dev-instance: socket $dev/secretd.sock (mode 0600)," \
    "TLS https://127.0.0.1:$port (CA dev/state/tls.crt)" >&2
exec "$builddir/secretd" -f -c "$conf"
