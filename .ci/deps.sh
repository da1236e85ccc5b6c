#!/usr/bin/env bash
# Installs what the tests need where it is missing: redis-server and Debian's chromium
# (and the interop suite's npm clients).
set -euo pipefail

# The interop suite's npm clients (relay/interop/testdata/package.json, exact
# versions and a lock file), where node is installed and they are missing.
interop="$(dirname "$0")/../relay/interop/testdata"
if command -v npm >/dev/null && [ ! -d "$interop/node_modules" ]; then
	echo "installing the interop clients (npm ci in relay/interop/testdata)" >&2
	npm ci --prefix "$interop" --no-audit --no-fund --loglevel=error >/dev/null
fi

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v zip >/dev/null || need+=(zip)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "missing: ${need[*]} - install them (Debian: apt-get install -y ${need[*]}) and run again" >&2
	exit 1
fi
# apt's own progress lines (Get:, Unpacking, Setting up) are left on: a
# chromium install takes minutes and silence looks like a hang.
echo "installing ${need[*]} with apt-get (apt's progress follows)" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
echo "installed ${need[*]}" >&2
