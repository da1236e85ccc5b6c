#!/usr/bin/env bash
# Installs terraform (default 1.11.4) into $(go env GOPATH)/bin where none is
# found, for `make tf-check` (docs/deploy.md, "Offline check").
#
# `go install github.com/hashicorp/terraform@v1.11.4` does not work: its
# go.mod has replace directives (go install refuses them) that point at
# nested remote-state backend modules the module proxy does not serve, and a
# `godebug tlskyber` line newer Go rejects. So this builds the module
# proxy's source in a temp dir without those eight remote-state backends
# (azurerm, consul, cos, gcs, kubernetes, oss, pg, s3; the offline check
# uses none: init -backend=false) and prints what it removed.
set -euo pipefail
version=${TERRAFORM_VERSION:-1.11.4}
bin="$(go env GOPATH)/bin"
if command -v terraform >/dev/null; then
	echo "terraform found: $(command -v terraform)" >&2
	exit 0
fi
if [ -x "$bin/terraform" ]; then
	echo "terraform found: $bin/terraform" >&2
	exit 0
fi
echo "building terraform $version from the Go module proxy into $bin (several minutes)" >&2
src=$(GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/terraform@v$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "go mod download github.com/hashicorp/terraform@v$version gave no source" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$src" "$work/terraform"
chmod -R u+w "$work/terraform"
cd "$work/terraform"
backends='Azure|Consul|Cos|GCS|Kubernetes|OSS|Pg|S3'
grep -En "backend($backends)[ .]" internal/backend/init/init.go >&2 || true
sed -i -E "/backend($backends)[ .]/d" internal/backend/init/init.go
sed -i -E '/^godebug /d; /^replace github.com\/hashicorp\/terraform\/internal\//d; /^\s*github.com\/hashicorp\/terraform\/internal\/[^ ]+ v0\.0\.0/d' go.mod
mkdir -p "$bin"
GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -trimpath \
	-ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" \
	-o "$bin/terraform" .
"$bin/terraform" version
