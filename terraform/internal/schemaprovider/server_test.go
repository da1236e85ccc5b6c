package main

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const testAddr = "registry.terraform.io/hashicorp/test"

// testSchema has one resource and one data source with every kind of
// attribute the plan and read logic tells apart.
const testSchema = `{
 "format_version": "1.0",
 "provider_versions": {"registry.terraform.io/hashicorp/test": "1.2.3"},
 "provider_schemas": {"registry.terraform.io/hashicorp/test": {
  "provider": {"version": 0, "block": {"attributes": {"region": {"type": "string", "optional": true}}}},
  "resource_schemas": {"test_thing": {"version": 0, "block": {
   "attributes": {
    "name": {"type": "string", "required": true},
    "note": {"type": "string", "optional": true},
    "size": {"type": "number", "optional": true, "computed": true},
    "arn":  {"type": "string", "computed": true},
    "tags": {"type": ["map", "string"], "optional": true}
   },
   "block_types": {"rule": {"nesting_mode": "list", "block": {"attributes": {
    "action": {"type": "string", "required": true},
    "id": {"type": "string", "computed": true}
   }}}}
  }}},
  "data_source_schemas": {"test_info": {"version": 0, "block": {"attributes": {
   "key":   {"type": "string", "required": true},
   "value": {"type": "string", "computed": true},
   "count": {"type": "number", "computed": true},
   "ok":    {"type": "bool", "computed": true},
   "ids":   {"type": ["list", "string"], "computed": true},
   "meta":  {"type": ["object", {"a": "string"}], "computed": true}
  }}}}
 }}
}`

func testServer(t *testing.T) *server {
	t.Helper()
	p, err := parseSchemaFile([]byte(testSchema), testAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &server{p: p}
}

func dynamic(t *testing.T, s *tfprotov6.Schema, v tftypes.Value) *tfprotov6.DynamicValue {
	t.Helper()
	dv, err := tfprotov6.NewDynamicValue(s.ValueType(), v)
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}

func TestPlanMarksOnlyNullComputedValuesUnknown(t *testing.T) {
	s := testServer(t)
	sch := s.p.resources["test_thing"]
	typ := sch.ValueType().(tftypes.Object)
	ruleType := typ.AttributeTypes["rule"].(tftypes.List).ElementType
	proposed := tftypes.NewValue(typ, map[string]tftypes.Value{
		"name": tftypes.NewValue(tftypes.String, "a"),
		"note": tftypes.NewValue(tftypes.String, nil),
		"size": tftypes.NewValue(tftypes.Number, big.NewFloat(3)),
		"arn":  tftypes.NewValue(tftypes.String, nil),
		"tags": tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, nil),
		"rule": tftypes.NewValue(typ.AttributeTypes["rule"], []tftypes.Value{
			tftypes.NewValue(ruleType, map[string]tftypes.Value{
				"action": tftypes.NewValue(tftypes.String, "allow"),
				"id":     tftypes.NewValue(tftypes.String, nil),
			}),
		}),
	})
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
		TypeName: "test_thing", ProposedNewState: dynamic(t, sch, proposed),
	})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("plan: %v %v", err, resp.Diagnostics)
	}
	planned, err := resp.PlannedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path            *tftypes.AttributePath
		known, wantNull bool
	}{
		{tftypes.NewAttributePath().WithAttributeName("name"), true, false},
		{tftypes.NewAttributePath().WithAttributeName("note"), true, true}, // optional, not computed: stays null
		{tftypes.NewAttributePath().WithAttributeName("size"), true, false},
		{tftypes.NewAttributePath().WithAttributeName("arn"), false, false},
		{tftypes.NewAttributePath().WithAttributeName("tags"), true, true},
		{tftypes.NewAttributePath().WithAttributeName("rule").WithElementKeyInt(0).WithAttributeName("action"), true, false},
		{tftypes.NewAttributePath().WithAttributeName("rule").WithElementKeyInt(0).WithAttributeName("id"), false, false},
	} {
		got, _, err := tftypes.WalkAttributePath(planned, c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		v := got.(tftypes.Value)
		if v.IsKnown() != c.known || (c.known && v.IsNull() != c.wantNull) {
			t.Errorf("%s planned as %v, want known=%v null=%v", c.path, v, c.known, c.wantNull)
		}
	}
}

func TestPlanDestroyKeepsNull(t *testing.T) {
	s := testServer(t)
	sch := s.p.resources["test_thing"]
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
		TypeName: "test_thing", ProposedNewState: dynamic(t, sch, tftypes.NewValue(sch.ValueType(), nil)),
	})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("plan: %v %v", err, resp.Diagnostics)
	}
	if v, err := resp.PlannedState.Unmarshal(sch.ValueType()); err != nil || !v.IsNull() {
		t.Fatalf("destroy planned as %v (%v), want null", v, err)
	}
}

func TestReadDataSourceFillsKnownPlaceholders(t *testing.T) {
	s := testServer(t)
	sch := s.p.dataSources["test_info"]
	typ := sch.ValueType().(tftypes.Object)
	config := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		config[name] = tftypes.NewValue(at, nil)
	}
	config["key"] = tftypes.NewValue(tftypes.String, "k")
	resp, err := s.ReadDataSource(context.Background(), &tfprotov6.ReadDataSourceRequest{
		TypeName: "test_info", Config: dynamic(t, sch, tftypes.NewValue(typ, config)),
	})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("read: %v %v", err, resp.Diagnostics)
	}
	state, err := resp.State.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	if !state.IsFullyKnown() {
		t.Fatalf("data source state has unknowns: %v", state)
	}
	var got map[string]tftypes.Value
	if err := state.As(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"key": `tftypes.String<"k">`, "value": `tftypes.String<"placeholder-value">`,
		"count": `tftypes.Number<"0">`, "ok": `tftypes.Bool<"false">`,
		"ids": `tftypes.List[tftypes.String]<>`, "meta": `tftypes.Object["a":tftypes.String]<null>`,
	}
	for name, w := range want {
		if g := got[name].String(); g != w {
			t.Errorf("%s = %s, want %s", name, g, w)
		}
	}
}

func TestUnknownTypesAreErrors(t *testing.T) {
	s := testServer(t)
	ctx := context.Background()
	plan, err := s.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: "test_nope"})
	if err != nil || len(plan.Diagnostics) != 1 || !strings.Contains(plan.Diagnostics[0].Summary, "test_nope") {
		t.Errorf("plan of an unknown type: %v %v", err, plan.Diagnostics)
	}
	read, err := s.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{TypeName: "test_nope"})
	if err != nil || len(read.Diagnostics) != 1 {
		t.Errorf("read of an unknown data source: %v %v", err, read.Diagnostics)
	}
	apply, err := s.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: "test_thing"})
	if err != nil || len(apply.Diagnostics) != 1 || !strings.Contains(apply.Diagnostics[0].Summary, "cannot apply") {
		t.Errorf("apply: %v %v", err, apply.Diagnostics)
	}
}

func TestParseSchemaFileErrors(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"not JSON", `{`, "parse schema file"},
		{"other provider", testSchema, "has no provider registry.terraform.io/hashicorp/other"},
		{"bad type", strings.Replace(testSchema, `"type": "string", "required": true}`, `"type": "strang", "required": true}`, 1), "test_thing.name: type"},
		{"bad nesting", strings.Replace(testSchema, `"nesting_mode": "list"`, `"nesting_mode": "tree"`, 1), `unknown nesting mode "tree"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := testAddr
			if c.name == "other provider" {
				addr = "registry.terraform.io/hashicorp/other"
			}
			if _, err := parseSchemaFile([]byte(c.data), addr); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := providerVersions([]byte(strings.Replace(testSchema, `"1.2.3"`, `""`, 1))); err == nil {
		t.Fatal("a provider without a version was accepted")
	}
}

// TestEmbeddedSchema: every provider of the committed schema converts, and
// it is the 6.x aws schema the module is written for.
func TestEmbeddedSchema(t *testing.T) {
	versions, err := providerVersions(schemaJSON)
	if err != nil {
		t.Fatal(err)
	}
	if v := versions["registry.terraform.io/hashicorp/aws"]; !strings.HasPrefix(v, "6.") {
		t.Fatalf("embedded aws schema is %q, want 6.x", v)
	}
	for addr := range versions {
		p, err := parseSchemaFile(schemaJSON, addr)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.resources)+len(p.dataSources) == 0 {
			t.Errorf("%s has no types", addr)
		}
	}
}

func TestWriteMirror(t *testing.T) {
	dir := t.TempDir()
	rc, err := writeMirror([]byte(testSchema), dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`path    = "` + dir + `"`, `include = ["` + testAddr + `"]`, "disable_checkpoint = true"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("CLI config lacks %s:\n%s", want, cfg)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "registry.terraform.io/hashicorp/test/1.2.3/*/terraform-provider-test_v1.2.3"))
	if len(matches) != 1 {
		t.Fatalf("mirror holds %v, want one provider binary", matches)
	}
}

// FuzzParseSchemaFile: any input is parsed or refused with an error, never
// a panic, and what parses has value types for every schema.
func FuzzParseSchemaFile(f *testing.F) {
	f.Add([]byte(testSchema))
	f.Add([]byte(`{"provider_schemas": {"` + testAddr + `": {"provider": {"block": {}}}}}`))
	f.Add([]byte(`{"provider_schemas": {"` + testAddr + `": {"resource_schemas": {"x": {"block": {"block_types": {"b": {"nesting_mode": "set"}}}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseSchemaFile(data, testAddr)
		if err != nil {
			return
		}
		for _, s := range p.resources {
			if s.ValueType() == nil {
				t.Fatal("resource schema without a value type")
			}
		}
	})
}
