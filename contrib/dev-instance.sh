#!/bin/sh
# Start a development secretd from the build tree on its embedded default:
# everything lives in ./dev (LMDB store, root key, self-signed TLS
# certificate, unix socket dev/secretd.sock, TLS on 127.0.0.1:8443).
# Runs in the foreground; Ctrl-C stops it.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top}
dev=$top/dev
mkdir -p "$dev"
chmod 0755 "$dev"
conf=$dev/secretd.conf
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# Development instance: paths are relative to this folder.
state_dir = state
socket = secretd.sock
listen = 127.0.0.1:8443
org = dev
admin_group = $(id -gn)
org_reveal = admins
frontend_user = secretd
CONF
fi
# The front-end and the tool runner each run as their own system user.
if [ "$(id -u)" -eq 0 ]; then
	for u in secretd secretd-runner; do
		getent passwd "$u" >/dev/null ||
		    useradd --system --no-create-home \
		    --shell /usr/sbin/nologin "$u"
	done
fi
[ -f "$dev/state/root.key" ] || "$builddir/secretd" init -c "$conf"
exec "$builddir/secretd" -f -c "$conf"
