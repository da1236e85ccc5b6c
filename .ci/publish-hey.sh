#!/usr/bin/env bash
# publish-hey.sh RELAY [ROUNDS]: the publish load of issue 20 with its own
# tool, hey (Debian package hey): one `relay dev` on a fresh redis-server
# per run, `hey -c $CONC -z $DUR` POSTing a ~60-byte event to /v1/publish,
# and the relay's and Redis's CPU per publish (relay from /proc/<pid>/stat,
# Redis from INFO cpu). Interleave two builds by calling it for each in
# turn; docs/performance.md "Third pass" has such a run.
set -euo pipefail
if [ $# -lt 1 ]; then
	echo "usage: $0 RELAY [ROUNDS]" >&2
	exit 2
fi
bin=$(realpath "$1")
rounds=${2:-1}
conc=${CONC:-16}
dur=${DUR:-8s}
port=${PORT:-18555}
rport=$((port + 1000))
key=benchkey-0123456789abcdef
body='{"topic":"bench","type":"bench.event","data":{"n":1,"msg":"hello world, a sixty-byte event"}}'
url=http://127.0.0.1:$port/v1/publish
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rcpu() { redis-cli -p "$rport" INFO cpu | awk -F: '/used_cpu_(sys|user):/ {s += $2} END {printf "%.6f", s}'; }
for r in $(seq 1 "$rounds"); do
	redis-server --port "$rport" --save '' --appendonly no >/dev/null 2>&1 &
	rpid=$!
	HOOKRELAY_ADDR=127.0.0.1:$port HOOKRELAY_API_KEYS=bench:$key HOOKRELAY_LOG_LEVEL=warn \
		HOOKRELAY_PUBLISH_RATE=0 HOOKRELAY_CONNECTIONS_PER_IP=0 REDIS_URL=redis://127.0.0.1:$rport \
		"$bin" dev >/dev/null 2>&1 &
	pid=$!
	trap 'kill $pid $rpid 2>/dev/null || true' EXIT
	for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
	hey -c "$conc" -z 2s -m POST -H "Authorization: Bearer $key" -T application/json -d "$body" "$url" >/dev/null # warm-up
	c0=$(cpu $pid)
	r0=$(rcpu)
	out=$(hey -c "$conc" -z "$dur" -m POST -H "Authorization: Bearer $key" -T application/json -d "$body" "$url")
	c1=$(cpu $pid)
	r1=$(rcpu)
	n=$(awk '/\[200\]/ {print $2}' <<<"$out")
	awk -v b="$1" -v n="$n" -v c0="$c0" -v c1="$c1" -v r0="$r0" -v r1="$r1" -v tck="$(getconf CLK_TCK)" \
		-v rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" -v p99="$(awk '/99% in/ {print $3}' <<<"$out")" \
		'BEGIN {printf "%s: %d answered 200, %.0f publishes/s, p99 %.1f ms, relay CPU %.1f µs/publish, Redis CPU %.1f µs/publish\n",
			b, n, rps, p99 * 1000, (c1 - c0) * 1e6 / tck / n, (r1 - r0) * 1e6 / n}'
	kill $pid $rpid
	wait $pid $rpid 2>/dev/null || true
	trap - EXIT
done
