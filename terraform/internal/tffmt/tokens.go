// Copyright IBM Corp. 2014, 2025
// SPDX-License-Identifier: MPL-2.0
//
// Token helpers adapted from github.com/hashicorp/hcl/v2@v2.25.0/hclwrite
// (tokens.go, parser.go, public.go): only what format.go needs.

package tffmt

import (
	"bufio"
	"bytes"

	"github.com/apparentlymart/go-textseg/v15/textseg"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Token is a single sequence of bytes annotated with a type and the number
// of spaces before it.
type Token struct {
	Type         hclsyntax.TokenType
	Bytes        []byte
	SpacesBefore int
}

func (t *Token) asHCLSyntax() hclsyntax.Token {
	return hclsyntax.Token{
		Type:  t.Type,
		Bytes: t.Bytes,
		Range: hcl.Range{Filename: "<invalid>"},
	}
}

// Tokens is a flat list of tokens.
type Tokens []*Token

// Columns returns the number of columns (grapheme clusters) the tokens
// occupy on one line.
func (ts Tokens) Columns() int {
	ret := 0
	for _, token := range ts {
		ret += token.SpacesBefore
		sc := bufio.NewScanner(bytes.NewReader(token.Bytes))
		sc.Split(textseg.ScanGraphemeClusters)
		for sc.Scan() {
			ret++
		}
	}
	return ret
}

// Bytes writes the tokens back out with their spacing.
func (ts Tokens) Bytes() []byte {
	var buf bytes.Buffer
	for _, token := range ts {
		buf.Write(bytes.Repeat([]byte{' '}, max(token.SpacesBefore, 0)))
		buf.Write(token.Bytes)
	}
	return buf.Bytes()
}

// Format returns src in canonical layout, exactly as hclwrite.Format (and so
// `terraform fmt`) would. Syntax errors are ignored, as upstream.
func Format(src []byte) []byte {
	native, _ := hclsyntax.LexConfig(src, "", hcl.Pos{Byte: 0, Line: 1, Column: 1})
	buf := make([]Token, len(native))
	last := 0
	for i, t := range native {
		b := make([]byte, len(t.Bytes))
		copy(b, t.Bytes)
		buf[i] = Token{Type: t.Type, Bytes: b, SpacesBefore: t.Range.Start.Byte - last}
		last = t.Range.End.Byte
	}
	tokens := make(Tokens, len(buf))
	for i := range tokens {
		tokens[i] = &buf[i]
	}
	format(tokens)
	return tokens.Bytes()
}
