#!/usr/bin/env bash
# Regenerates ../schema.json: the provider schemas of every resource and
# data source type that terraform/modules and terraform/examples use, taken
# from the prebuilt cdktf bindings on npm (extract.js says how).
#
# Pinned packages and the provider version each was generated from (the
# package's package.json, cdktf.provider.version; checked below):
#   @cdktf/provider-aws     21.22.1 -> hashicorp/aws     6.25.0
#   @cdktf/provider-random  12.0.1  -> hashicorp/random  3.7.2
#   @cdktf/provider-archive 11.0.1  -> hashicorp/archive 2.7.1
# @cdktf/provider-aws 21.22.1 is the last release (HashiCorp stopped the
# prebuilt bindings in December 2025), so aws 6.25.0 is the newest schema
# this can give. cdktf has no deprecation flags: deprecations.json adds
# the ones the module must avoid. Run it after adding a resource type.
#
# usage: terraform/internal/schemaprovider/gen/gen-schema.sh   (needs node, npm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tfdir=$(cd "$here/../../.." && pwd) # terraform/
packages=(
	"aws 21.22.1 6.25.0"
	"random 12.0.1 3.7.2"
	"archive 11.0.1 2.7.1"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=()
for p in "${packages[@]}"; do
	read -r name pkg provider <<<"$p"
	(cd "$work" && npm pack --silent "@cdktf/provider-$name@$pkg" >/dev/null)
	mkdir -p "$work/$name"
	tar xzf "$work/cdktf-provider-$name-$pkg.tgz" -C "$work/$name"
	got=$(node -e 'console.log(require(process.argv[1]).cdktf.provider.version)' "$work/$name/package/package.json")
	if [ "$got" != "$provider" ]; then
		echo "@cdktf/provider-$name@$pkg was generated from $name $got, not $provider: update this script" >&2
		exit 1
	fi
	args+=("registry.terraform.io/hashicorp/$name=$provider=$work/$name/package")
done

mapfile -t types < <(grep -rhoE '^(resource|data) "[a-z0-9_]+"' "$tfdir/modules" "$tfdir/examples" --include='*.tf' |
	sed -E 's/^(resource|data) "([a-z0-9_]+)"/\1.\2/' | sort -u)
node "$here/extract.js" "$here/../schema.json" --deprecations "$here/deprecations.json" "${args[@]}" "${types[@]}"
echo "wrote $(cd "$here/.." && pwd)/schema.json: ${#types[@]} types" >&2
