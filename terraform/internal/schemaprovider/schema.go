package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// schemaFile is the `terraform providers schema -json` format, plus the
// provider versions the schemas were taken from (the mirror needs them).
type schemaFile struct {
	FormatVersion    string                    `json:"format_version"`
	ProviderVersions map[string]string         `json:"provider_versions"`
	ProviderSchemas  map[string]providerSchema `json:"provider_schemas"`
}

type providerSchema struct {
	Provider          typeSchema            `json:"provider"`
	ResourceSchemas   map[string]typeSchema `json:"resource_schemas"`
	DataSourceSchemas map[string]typeSchema `json:"data_source_schemas"`
}

type typeSchema struct {
	Version int64     `json:"version"`
	Block   jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes map[string]jsonAttribute `json:"attributes"`
	BlockTypes map[string]jsonBlockType `json:"block_types"`
	Deprecated bool                     `json:"deprecated"`
}

type jsonAttribute struct {
	Type       json.RawMessage `json:"type"`
	NestedType json.RawMessage `json:"nested_type"`
	Required   bool            `json:"required"`
	Optional   bool            `json:"optional"`
	Computed   bool            `json:"computed"`
	Sensitive  bool            `json:"sensitive"`
	Deprecated bool            `json:"deprecated"`
	WriteOnly  bool            `json:"write_only"`
}

type jsonBlockType struct {
	NestingMode string    `json:"nesting_mode"`
	Block       jsonBlock `json:"block"`
	MinItems    int64     `json:"min_items"`
	MaxItems    int64     `json:"max_items"`
}

// provider is one provider's schema, converted to the plugin protocol.
type provider struct {
	address     string
	version     string
	config      *tfprotov6.Schema
	resources   map[string]*tfprotov6.Schema
	dataSources map[string]*tfprotov6.Schema
}

// parseSchemaFile reads the schema file and converts the named provider
// (its registry address, e.g. registry.terraform.io/hashicorp/aws).
func parseSchemaFile(data []byte, address string) (*provider, error) {
	var f schemaFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse schema file: %w", err)
	}
	ps, ok := f.ProviderSchemas[address]
	if !ok {
		return nil, fmt.Errorf("schema file has no provider %s (it has %v)", address, slices.Sorted(maps.Keys(f.ProviderSchemas)))
	}
	p := &provider{
		address:     address,
		version:     f.ProviderVersions[address],
		resources:   map[string]*tfprotov6.Schema{},
		dataSources: map[string]*tfprotov6.Schema{},
	}
	var err error
	if p.config, err = ps.Provider.convert("provider"); err != nil {
		return nil, err
	}
	for name, s := range ps.ResourceSchemas {
		if p.resources[name], err = s.convert("resource " + name); err != nil {
			return nil, err
		}
	}
	for name, s := range ps.DataSourceSchemas {
		if p.dataSources[name], err = s.convert("data source " + name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// providerVersions lists the provider addresses and versions of a schema
// file, for building the filesystem mirror.
func providerVersions(data []byte) (map[string]string, error) {
	var f schemaFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse schema file: %w", err)
	}
	for addr := range f.ProviderSchemas {
		if f.ProviderVersions[addr] == "" {
			return nil, fmt.Errorf("schema file gives no version for %s", addr)
		}
	}
	return f.ProviderVersions, nil
}

func (s typeSchema) convert(what string) (*tfprotov6.Schema, error) {
	b, err := s.Block.convert(what)
	if err != nil {
		return nil, err
	}
	return &tfprotov6.Schema{Version: s.Version, Block: b}, nil
}

func (b jsonBlock) convert(where string) (*tfprotov6.SchemaBlock, error) {
	out := &tfprotov6.SchemaBlock{Deprecated: b.Deprecated}
	for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
		a := b.Attributes[name]
		if len(a.NestedType) > 0 {
			return nil, fmt.Errorf("%s.%s: nested attribute types are not supported", where, name)
		}
		typ, err := parseType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: type %s: %w", where, name, a.Type, err)
		}
		out.Attributes = append(out.Attributes, &tfprotov6.SchemaAttribute{
			Name: name, Type: typ, Required: a.Required, Optional: a.Optional, Computed: a.Computed,
			Sensitive: a.Sensitive, Deprecated: a.Deprecated, WriteOnly: a.WriteOnly,
		})
	}
	for _, name := range slices.Sorted(maps.Keys(b.BlockTypes)) {
		bt := b.BlockTypes[name]
		nested, err := bt.Block.convert(where + "." + name)
		if err != nil {
			return nil, err
		}
		mode, ok := nestingMode(bt.NestingMode)
		if !ok {
			return nil, fmt.Errorf("%s.%s: unknown nesting mode %q", where, name, bt.NestingMode)
		}
		out.BlockTypes = append(out.BlockTypes, &tfprotov6.SchemaNestedBlock{
			TypeName: name, Block: nested, Nesting: mode, MinItems: bt.MinItems, MaxItems: bt.MaxItems,
		})
	}
	return out, nil
}

func nestingMode(name string) (tfprotov6.SchemaNestedBlockNestingMode, bool) {
	switch name {
	case "single":
		return tfprotov6.SchemaNestedBlockNestingModeSingle, true
	case "list":
		return tfprotov6.SchemaNestedBlockNestingModeList, true
	case "set":
		return tfprotov6.SchemaNestedBlockNestingModeSet, true
	case "map":
		return tfprotov6.SchemaNestedBlockNestingModeMap, true
	case "group":
		return tfprotov6.SchemaNestedBlockNestingModeGroup, true
	}
	return tfprotov6.SchemaNestedBlockNestingModeInvalid, false
}

// parseType reads a type in Terraform's JSON type syntax: "string",
// "number", "bool", "dynamic", ["list"|"set"|"map", T], ["object", {...}],
// ["tuple", [...]]. (tftypes.ParseJSONType is not for providers' use.)
func parseType(raw json.RawMessage) (tftypes.Type, error) {
	var prim string
	if err := json.Unmarshal(raw, &prim); err == nil {
		switch prim {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown primitive type %q", prim)
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return nil, fmt.Errorf("want a type name or a [kind, element] pair, got %s", raw)
	}
	var kind string
	if err := json.Unmarshal(pair[0], &kind); err != nil {
		return nil, fmt.Errorf("type kind %s: %w", pair[0], err)
	}
	switch kind {
	case "list", "set", "map":
		elem, err := parseType(pair[1])
		if err != nil {
			return nil, err
		}
		switch kind {
		case "list":
			return tftypes.List{ElementType: elem}, nil
		case "set":
			return tftypes.Set{ElementType: elem}, nil
		}
		return tftypes.Map{ElementType: elem}, nil
	case "object":
		return parseObject(pair[1])
	case "tuple":
		return parseTuple(pair[1])
	}
	return nil, fmt.Errorf("unknown type kind %q", kind)
}

func parseObject(raw json.RawMessage) (tftypes.Type, error) {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &attrs); err != nil {
		return nil, fmt.Errorf("object attributes %s: %w", raw, err)
	}
	types := map[string]tftypes.Type{}
	for name, a := range attrs {
		t, err := parseType(a)
		if err != nil {
			return nil, fmt.Errorf("object attribute %s: %w", name, err)
		}
		types[name] = t
	}
	return tftypes.Object{AttributeTypes: types}, nil
}

func parseTuple(raw json.RawMessage) (tftypes.Type, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("tuple elements %s: %w", raw, err)
	}
	types := make([]tftypes.Type, len(elems))
	for i, e := range elems {
		t, err := parseType(e)
		if err != nil {
			return nil, fmt.Errorf("tuple element %d: %w", i, err)
		}
		types[i] = t
	}
	return tftypes.Tuple{ElementTypes: types}, nil
}
