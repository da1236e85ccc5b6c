#!/usr/bin/env bash
# make test: every package with -race against a real redis-server and real
# Chromium, reported by .ci/testsum: one line per package as it
# finishes, failed tests' output under their package, and at the end
#   slowest: <five slowest packages>
#   packages: N passed, M failed
# The exit status is non-zero when any package failed, did not build or
# never finished.
#
# The relay binary, relaybench and the Lambda bootstraps are built here,
# once and without -race, before the race build starts: the tests that run
# them (relay/..., relay/bench, functions/ingest, functions/publish) find
# them through HOOKRELAY_TEST_RELAY_BIN, HOOKRELAY_TEST_RELAYBENCH_BIN and
# HOOKRELAY_TEST_LAMBDA_DIR instead of each building its own while the race
# compile of everything else holds the CPU.
# Run alone (go test ./functions/ingest) a test still builds its own.
#
# Child processes' logs (redis-server, relays, bootstraps) of failed tests
# are kept in build/test-logs; the failure names the file.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=("${@:-./...}")
timeout=${TEST_TIMEOUT:-12m}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
logs=$PWD/build/test-logs
rm -rf "$logs"
mkdir -p "$logs"

# Both builds use the same settings (CGO off, no -trimpath) so the second
# reuses every package the first compiled; only lambda.norpc differs.
echo "== building the relay, the Lambda bootstraps and the test report tool once, without -race (a minute or two on a cold cache)"
export CGO_ENABLED=0
go build -o "$tmp/" ./relay ./relay/bench/cmd/relaybench ./.ci/testsum
go build -tags lambda.norpc -o "$tmp/lambda/" ./functions/ingest ./functions/publish
unset CGO_ENABLED

echo "== go test -race -count=1 -timeout $timeout ${pkgs[*]}"
echo "   compiling with -race first (several minutes on a cold cache); packages are listed as they finish"
set +e
HOOKRELAY_TEST_RELAY_BIN=$tmp/relay HOOKRELAY_TEST_RELAYBENCH_BIN=$tmp/relaybench \
	HOOKRELAY_TEST_LAMBDA_DIR=$tmp/lambda HOOKRELAY_TEST_LOGS=$logs \
	go test -json -race -count=1 -timeout "$timeout" "${pkgs[@]}" 2>&1 |
	"$tmp/testsum" -trim "$(go list -m)/"
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[1]}" -ne 0 ]; then
	exit "${status[1]}"
fi
if [ "${status[0]}" -ne 0 ]; then
	echo "go test exited ${status[0]} though every package it reported passed" >&2
	exit "${status[0]}"
fi
