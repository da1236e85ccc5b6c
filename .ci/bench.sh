#!/usr/bin/env bash
# The load runs behind `make bench`, one per target of docs/performance.md.
# Each writes build/bench/<name>.json and prints the tool's report. The
# publish-redis run is the publish path (relaybench publish: publishes/s,
# p50/p99, relay and Redis CPU per publish at 1, 16 and 64 publishers). The
# floor-* runs put the same load on the reference broadcaster the targets
# were set against (relay bench --server floor): this machine's floor;
# floor-publish is the publish load on net/http with the relay's settings
# and no publish work (what HTTP/1.1 per publish costs here). Set
# BENCH_RUNS to a space-separated subset of names to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench
mkdir -p "$out"
go build -trimpath -o "$out/relay" ./relay
# The load generator is its own binary; beside the relay, it uses that relay.
go build -trimpath -o "$out/relaybench" ./relay/bench/cmd/relaybench
declare -A runs=(
	[sse-1k-memory]="--bus memory --conns 1000 --transport sse --rate 20 --duration 20s"
	[ws-1k-memory]="--bus memory --conns 1000 --transport ws --rate 20 --duration 20s"
	[sse-10k-memory]="--bus memory --conns 10000 --transport sse --rate 10 --duration 20s"
	[floor-1k]="--server floor --bus memory --conns 1000 --transport sse --rate 20 --duration 20s"
	[floor-10k]="--server floor --bus memory --conns 10000 --transport sse --rate 10 --duration 20s"
	[sse-1k-redis]="--bus redis --conns 1000 --transport sse --rate 20 --duration 20s"
	[ws-1k-redis]="--bus redis --conns 1000 --transport ws --rate 20 --duration 20s"
	[idle-sse-19k]="--bus memory --conns 19000 --transport sse --rate 1 --duration 5s --settle 5s"
	[idle-ws-19k]="--bus memory --conns 19000 --transport ws --rate 1 --duration 5s --settle 5s"
	[idle-sse-19k-redis]="--bus redis --conns 19000 --transport sse --rate 1 --duration 5s --settle 5s"
	[fleet-72k-redis]="--bus redis --relays 4 --conns 72000 --transport mixed --rate 2 --duration 10s --settle 5s"
	[publish-redis]="publish --bus redis --concurrency 1,16,64 --duration 10s"
	[floor-publish]="publish --server floor --concurrency 1,16,64 --duration 10s"
)
order=(publish-redis floor-publish floor-1k sse-1k-memory ws-1k-memory floor-10k sse-10k-memory sse-1k-redis ws-1k-redis idle-sse-19k idle-ws-19k idle-sse-19k-redis fleet-72k-redis)
sel=${BENCH_RUNS:-${order[*]}}
for name in $sel; do
	echo "== $name: relaybench ${runs[$name]}"
	# shellcheck disable=SC2086 # the flags are meant to split
	"$out/relaybench" ${runs[$name]} --json "$out/$name.json"
done
