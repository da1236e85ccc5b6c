#!/usr/bin/env bash
# Builds each Lambda function as `bootstrap` for the provided.al2023 runtime and
# zips it: build/lambda/<function>-<arch>.zip. The -tags lambda.norpc drops the
# legacy Go1.x RPC server, which provided.al2023 never uses.
set -euo pipefail
# Issue target: each zip <= 6 MB (read as 6,000,000 bytes). See docs/lambda.md
# for what makes them big (text/template keeps every exported method alive).
max_zip=${HOOKRELAY_MAX_ZIP:-6000000}
over=0
functions=${1:-"ingest publish"}
arches=${2:-"arm64 amd64"}
out=${3:-build/lambda}
mkdir -p "$out"
for fn in $functions; do
	for arch in $arches; do
		dir=$(mktemp -d)
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -tags lambda.norpc -trimpath \
			-ldflags='-s -w' -o "$dir/bootstrap" "./functions/$fn"
		zip="$PWD/$out/$fn-$arch.zip"
		rm -f "$zip"
		# Fixed timestamps keep the zip byte-identical for unchanged code, so
		# Terraform's source_code_hash only changes when the binary does.
		touch -d '2020-01-01T00:00:00Z' "$dir/bootstrap"
		(cd "$dir" && zip -q -X "$zip" bootstrap)
		rm -rf "$dir"
		size=$(stat -c %s "$zip")
		printf '%-32s %8d bytes (budget %d, margin %d)\n' "$out/$fn-$arch.zip" "$size" "$max_zip" $((max_zip - size))
		if [ "$size" -gt "$max_zip" ]; then
			echo "  over the $max_zip-byte budget: see docs/lambda.md for what makes a zip grow" >&2
			over=1
		fi
	done
done
exit $over
