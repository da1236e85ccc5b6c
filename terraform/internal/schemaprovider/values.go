package main

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// attributeAt returns the schema attribute a value path names, or nil when
// the path is a block, a block element or a place inside an attribute's
// value.
func attributeAt(b *tfprotov6.SchemaBlock, path *tftypes.AttributePath) *tfprotov6.SchemaAttribute {
	steps := path.Steps()
	for len(steps) > 0 {
		name, ok := steps[0].(tftypes.AttributeName)
		if !ok {
			return nil
		}
		steps = steps[1:]
		for _, a := range b.Attributes {
			if a.Name == string(name) {
				if len(steps) == 0 {
					return a
				}
				return nil
			}
		}
		nested := nestedBlock(b, string(name))
		if nested == nil {
			return nil
		}
		switch nested.Nesting {
		case tfprotov6.SchemaNestedBlockNestingModeList, tfprotov6.SchemaNestedBlockNestingModeSet, tfprotov6.SchemaNestedBlockNestingModeMap:
			if len(steps) == 0 {
				return nil
			}
			steps = steps[1:] // the element's index or key
		}
		b = nested.Block
	}
	return nil
}

func nestedBlock(b *tfprotov6.SchemaBlock, name string) *tfprotov6.SchemaNestedBlock {
	for _, nb := range b.BlockTypes {
		if nb.TypeName == name {
			return nb
		}
	}
	return nil
}

// fillComputed replaces every null computed attribute of v (at any depth of
// nested blocks) with fill's value for it.
func fillComputed(b *tfprotov6.SchemaBlock, v tftypes.Value, fill func(a *tfprotov6.SchemaAttribute, t tftypes.Type) tftypes.Value) (tftypes.Value, error) {
	return tftypes.Transform(v, func(path *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsNull() {
			return v, nil
		}
		a := attributeAt(b, path)
		if a == nil || !a.Computed {
			return v, nil
		}
		return fill(a, v.Type()), nil
	})
}

// unknown is what a plan shows for a computed value the provider would only
// learn from AWS: "(known after apply)".
func unknown(_ *tfprotov6.SchemaAttribute, t tftypes.Type) tftypes.Value {
	return tftypes.NewValue(t, tftypes.UnknownValue)
}

// placeholder is a known stand-in for a computed data source value:
// Terraform requires data source results to be wholly known.
func placeholder(a *tfprotov6.SchemaAttribute, t tftypes.Type) tftypes.Value {
	switch {
	case t.Is(tftypes.String):
		return tftypes.NewValue(t, "placeholder-"+a.Name)
	case t.Is(tftypes.Number):
		return tftypes.NewValue(t, big.NewFloat(0))
	case t.Is(tftypes.Bool):
		return tftypes.NewValue(t, false)
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
		return tftypes.NewValue(t, []tftypes.Value{})
	case t.Is(tftypes.Map{}):
		return tftypes.NewValue(t, map[string]tftypes.Value{})
	}
	return tftypes.NewValue(t, nil) // objects, tuples, dynamic: null
}

// transformDynamic decodes a request value, transforms it and encodes it.
func transformDynamic(s *tfprotov6.Schema, in *tfprotov6.DynamicValue, fn func(tftypes.Value) (tftypes.Value, error)) (*tfprotov6.DynamicValue, error) {
	typ := s.ValueType()
	v, err := in.Unmarshal(typ)
	if err != nil {
		return nil, fmt.Errorf("decode value: %w", err)
	}
	if v, err = fn(v); err != nil {
		return nil, err
	}
	out, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return &out, nil
}
