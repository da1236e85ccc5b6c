#!/usr/bin/env bash
# Every target of the Makefile is listed by make help (it greps for a
# "## description" comment, which a new target can forget).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(grep -oE '^\.PHONY: .*' Makefile | sed 's/^\.PHONY: //' | tr ' ' '\n' | sort -u)
listed=$(make --no-print-directory help | awk '{print $1}' | sort -u)
missing=$(comm -23 <(printf '%s\n' "$targets") <(printf '%s\n' "$listed"))
if [ -n "$missing" ]; then
	echo "make help leaves out: $missing (give each target a ## comment)" >&2
	exit 1
fi
