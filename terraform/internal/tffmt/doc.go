// Package tffmt is `terraform fmt` for the contract tests: the token-level
// formatter of github.com/hashicorp/hcl/v2/hclwrite (hclwrite.Format, which
// terraform fmt applies), copied because hclwrite itself does not build in
// this module: its node.go imports github.com/google/go-cmp, which is not in
// go.sum, and go.mod/go.sum are not ours to change. format.go is the
// unmodified upstream file (MPL-2.0, file-level); tokens.go holds the few
// upstream helpers it needs. When go-cmp lands in go.sum, delete this
// package and call hclwrite.Format directly.
package tffmt
