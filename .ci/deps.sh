#!/usr/bin/env bash
# Installs what the tests need where it is missing: redis-server and Debian's chromium
# (and the interop suite's npm clients, and terraform for the offline check).
set -euo pipefail

# The interop suite's npm clients (relay/internal/interop/testdata/package.json, exact
# versions and a lock file), where node is installed and they are missing.
interop="$(dirname "$0")/../relay/internal/interop/testdata"
if command -v npm >/dev/null && [ ! -d "$interop/node_modules" ]; then
	echo "installing the interop clients (npm ci in relay/internal/interop/testdata)" >&2
	npm ci --prefix "$interop" --no-audit --no-fund --loglevel=error >/dev/null
fi

# terraform for the offline check inside make test (terraform/offline_test.go):
# found, or built from the Go module proxy's source (several minutes, once).
# Without it that check skips and says so; nothing else needs it.
bash "$(dirname "$0")/terraform.sh" || echo "terraform could not be installed: the offline terraform check will skip" >&2

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
