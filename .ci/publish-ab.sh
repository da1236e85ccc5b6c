#!/usr/bin/env bash
# publish-ab.sh BASE_RELAY NEW_RELAY [ROUNDS]: the before/after table of
# docs/performance.md "Publish path". It builds relaybench from this tree,
# measures the net/http floor once (relaybench publish --server floor: the
# relay's server settings, deadlines and answer headers, no publish work),
# then runs ROUNDS (default 3) interleaved rounds of the same load against
# each relay binary, base first, each run on a fresh Redis:
#   relaybench publish --relay-bin <bin> --concurrency $CONC --duration $DUR
# and prints every run and, per build and concurrency, the median of the
# rounds. CONC (default 1,16,64) and DUR (default 6s) override the load.
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 BASE_RELAY NEW_RELAY [ROUNDS]" >&2
	exit 2
fi
base=$(realpath "$1")
new=$(realpath "$2")
rounds=${3:-3}
conc=${CONC:-1,16,64}
dur=${DUR:-6s}
cd "$(dirname "$0")/.."
out=build/bench/ab
mkdir -p "$out"
rm -f "$out"/*.json
go build -trimpath -o build/bench/relaybench ./relay/bench/cmd/relaybench
tool=build/bench/relaybench
echo "== floor: relaybench publish --server floor --concurrency $conc --duration $dur"
"$tool" publish --server floor --relay-bin "$new" --concurrency "$conc" --duration "$dur" --json "$out/floor.json"
for r in $(seq 1 "$rounds"); do
	for b in base new; do
		bin=$base
		[ "$b" = new ] && bin=$new
		echo "== round $r $b: relaybench publish --relay-bin $bin --concurrency $conc --duration $dur"
		"$tool" publish --relay-bin "$bin" --concurrency "$conc" --duration "$dur" --json "$out/$b-$r.json"
	done
done
echo "== medians of $rounds rounds (floor: one run)"
printf '%-6s %-10s %12s %10s %10s %14s %14s %10s\n' build publishers publishes/s p50_us p99_us relay_us/pub redis_us/pub pubs/call
for b in floor base new; do
	jq -s --arg b "$b" -r '
		[.[].rounds[]] | group_by(.concurrency)[] |
		def med(f): (map(f) | sort | .[(length - 1) / 2 | floor]);
		[$b, .[0].concurrency, (med(.publishes_per_s) | round), med(.p50_us), med(.p99_us),
		 (med(.relay_cpu_us_per_publish) * 10 | round / 10), (med(.redis_cpu_us_per_publish // 0) * 10 | round / 10), (med(.publishes_per_script_call // 0) * 10 | round / 10)] | @tsv' \
		"$out"/"$b"*.json | awk -F'\t' '{printf "%-6s %-10s %12s %10s %10s %14s %14s %10s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
done
echo "load average at end: $(cat /proc/loadavg)"
