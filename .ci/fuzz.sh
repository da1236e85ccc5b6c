#!/usr/bin/env bash
# Runs every fuzz target in the module for $1 (default 30s) each.
#
# With a short -fuzztime, Go's fuzz coordinator sometimes ends a run with a
# bare "context deadline exceeded" when the time runs out mid-exchange with
# a worker: no input failed and nothing is written to testdata. Such a run
# is repeated once; a real failure ("Failing input written to ...") fails.
set -euo pipefail
time=${1:-30s}
fail=0
fuzz_one() { # pkg target
	local out
	if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$time" "$1" 2>&1); then
		printf '%s\n' "$out" | tail -n 2
		return 0
	fi
	printf '%s\n' "$out"
	if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written to' <<<"$out"; then
		echo "-- $1 $2: coordinator timeout with no failing input; running it again"
		go test -run '^$' -fuzz "^$2\$" -fuzztime "$time" "$1"
		return
	fi
	return 1
}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' | sort -u); do
		echo "== $pkg $target ($time)"
		fuzz_one "$pkg" "$target" || fail=1
	done
done
exit $fail
