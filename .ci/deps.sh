#!/usr/bin/env bash
# Installs what the tests need where it is missing: redis-server and Debian's chromium.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v zip >/dev/null || need+=(zip)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "missing: ${need[*]} - install them (Debian: apt-get install -y ${need[*]}) and run again" >&2
	exit 1
fi
echo "installing ${need[*]} with apt-get" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
