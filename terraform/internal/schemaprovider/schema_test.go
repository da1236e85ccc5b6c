package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestParseType(t *testing.T) {
	for _, c := range []struct {
		in   string
		want tftypes.Type
		err  string
	}{
		{`"string"`, tftypes.String, ""},
		{`"dynamic"`, tftypes.DynamicPseudoType, ""},
		{`["set", "number"]`, tftypes.Set{ElementType: tftypes.Number}, ""},
		{`["map", ["list", "bool"]]`, tftypes.Map{ElementType: tftypes.List{ElementType: tftypes.Bool}}, ""},
		{`["object", {"a": "string", "b": ["list", "number"]}]`, tftypes.Object{AttributeTypes: map[string]tftypes.Type{
			"a": tftypes.String, "b": tftypes.List{ElementType: tftypes.Number}}}, ""},
		{`["tuple", ["string", "bool"]]`, tftypes.Tuple{ElementTypes: []tftypes.Type{tftypes.String, tftypes.Bool}}, ""},
		{`"strang"`, nil, `unknown primitive type "strang"`},
		{`["list"]`, nil, "want a type name"},
		{`["bag", "string"]`, nil, `unknown type kind "bag"`},
		{`["object", {"a": "nope"}]`, nil, "object attribute a"},
		{`["tuple", ["string", 3]]`, nil, "tuple element 1"},
		{`3`, nil, "want a type name"},
	} {
		got, err := parseType(json.RawMessage(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseType(%s) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseType(%s) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
