package terraform

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"github.com/zclconf/go-cty/cty/gocty"
)

// deployment is the module as the example instantiates it: variable values
// are the module defaults overridden by the literal inputs the example
// passes, so the timing checks judge what would really be deployed.
type deployment struct {
	module, example *config
	vars            map[string]cty.Value
	ctx             *hcl.EvalContext
}

func newDeployment(module, example *config) *deployment {
	d := &deployment{module: module, example: example}
	d.vars = variableDefaults(module)
	exCtx := evalContext(variableDefaults(example), example)
	for _, mb := range example.blocks("module") {
		for name, attr := range mb.Body.Attributes {
			if name == "source" {
				continue
			}
			if v, diags := attr.Expr.Value(exCtx); !diags.HasErrors() && v.IsWhollyKnown() {
				d.vars[name] = v
			}
		}
	}
	d.ctx = evalContext(d.vars, module)
	return d
}

// variableDefaults maps each declared variable to its default; variables
// without one are unknown.
func variableDefaults(c *config) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, b := range c.blocks("variable") {
		out[b.Labels[0]] = cty.DynamicVal
		if def, ok := b.Body.Attributes["default"]; ok {
			if v, diags := def.Expr.Value(nil); !diags.HasErrors() {
				out[b.Labels[0]] = v
			}
		}
	}
	return out
}

// evalContext offers var.*, path.* and the locals that evaluate from
// variables alone (no functions, no resources); the rest are unknown.
func evalContext(vars map[string]cty.Value, c *config) *hcl.EvalContext {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":  objectOf(vars),
			"path": cty.ObjectVal(map[string]cty.Value{"root": cty.StringVal("."), "module": cty.StringVal(".")}),
		},
		// The pure Terraform functions the checked expressions use.
		Functions: map[string]function.Function{
			"can":        tryfunc.CanFunc,
			"concat":     stdlib.ConcatFunc,
			"format":     stdlib.FormatFunc,
			"join":       stdlib.JoinFunc,
			"length":     lengthFunc(),
			"max":        stdlib.MaxFunc,
			"merge":      stdlib.MergeFunc,
			"min":        stdlib.MinFunc,
			"regex":      stdlib.RegexFunc,
			"tostring":   stdlib.MakeToFunc(cty.String),
			"trimsuffix": stdlib.TrimSuffixFunc,
		},
	}
	// Resources, data sources and modules are only known at apply.
	for _, b := range c.blocks("resource") {
		ctx.Variables[b.Labels[0]] = cty.DynamicVal
	}
	ctx.Variables["data"] = cty.DynamicVal
	ctx.Variables["module"] = cty.DynamicVal
	locals := map[string]cty.Value{}
	for _, b := range c.blocks("locals") {
		for name := range b.Body.Attributes {
			locals[name] = cty.DynamicVal
		}
	}
	// Two passes let locals refer to locals.
	for pass := 0; pass < 2; pass++ {
		ctx.Variables["local"] = objectOf(locals)
		for _, b := range c.blocks("locals") {
			for name, attr := range b.Body.Attributes {
				if v, diags := attr.Expr.Value(ctx); !diags.HasErrors() {
					locals[name] = v
				}
			}
		}
	}
	ctx.Variables["local"] = objectOf(locals)
	return ctx
}

// lengthFunc is Terraform's length: characters of a string, elements of a
// collection (cty's stdlib splits the two).
func lengthFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if args[0].Type() == cty.String {
				return stdlib.Strlen(args[0])
			}
			return stdlib.Length(args[0])
		},
	})
}

func objectOf(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// number evaluates an expression that must be a known whole number.
func (d *deployment) number(expr hcl.Expression, what string) (int64, error) {
	if expr == nil {
		return 0, fmt.Errorf("%s: not set", what)
	}
	v, diags := expr.Value(d.ctx)
	if diags.HasErrors() {
		return 0, fmt.Errorf("%s: cannot evaluate: %s", what, diags.Error())
	}
	var n int64
	if !v.IsWhollyKnown() || v.IsNull() {
		return 0, fmt.Errorf("%s: not a known number", what)
	}
	if err := gocty.FromCtyValue(v, &n); err != nil {
		return 0, fmt.Errorf("%s: %v", what, err)
	}
	return n, nil
}

// seconds evaluates a whole number of seconds.
func (d *deployment) seconds(expr hcl.Expression, what string) (time.Duration, error) {
	n, err := d.number(expr, what)
	return time.Duration(n) * time.Second, err
}

// str evaluates an expression that must be a known string.
func (d *deployment) str(expr hcl.Expression, what string) (string, error) {
	if expr == nil {
		return "", fmt.Errorf("%s: not set", what)
	}
	v, diags := expr.Value(d.ctx)
	if diags.HasErrors() {
		return "", fmt.Errorf("%s: cannot evaluate: %s", what, diags.Error())
	}
	if !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String {
		return "", fmt.Errorf("%s: not a known string", what)
	}
	return v.AsString(), nil
}

// objectItems finds every object constructor under expr and returns, for
// each, its literal keys mapped to their value expressions.
func objectItems(expr hclsyntax.Expression) []map[string]hclsyntax.Expression {
	var out []map[string]hclsyntax.Expression
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		obj, ok := n.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil
		}
		items := map[string]hclsyntax.Expression{}
		for _, it := range obj.Items {
			if k := hcl.ExprAsKeyword(it.KeyExpr); k != "" {
				items[k] = it.ValueExpr
			} else if v, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && v.Type() == cty.String {
				items[v.AsString()] = it.ValueExpr
			}
		}
		out = append(out, items)
		return nil
	})
	return out
}

// localExpr returns the expression of local.name.
func (c *config) localExpr(t testing.TB, name string) hclsyntax.Expression {
	t.Helper()
	for _, b := range c.blocks("locals") {
		if a, ok := b.Body.Attributes[name]; ok {
			return a.Expr
		}
	}
	t.Fatalf("%s: no local %q", c.dir, name)
	return nil
}

// envVar is one entry of an ECS environment or secrets list.
type envVar struct {
	name, value string
	known       bool // value known before apply (false: resource attribute or secret)
}

// envList evaluates a local holding an ECS name/value (or name/valueFrom)
// list, conditionals and concatenations included.
func (d *deployment) envList(t testing.TB, local string) ([]envVar, error) {
	t.Helper()
	v, diags := d.module.localExpr(t, local).Value(d.ctx)
	if diags.HasErrors() {
		return nil, fmt.Errorf("local.%s: cannot evaluate: %s", local, diags.Error())
	}
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil, fmt.Errorf("local.%s: the list itself is only known at apply; keep its shape static", local)
	}
	var out []envVar
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.Type().IsObjectType() || !e.Type().HasAttribute("name") {
			return nil, fmt.Errorf("local.%s: an entry is not a {name, value} object", local)
		}
		name := e.GetAttr("name")
		if !name.IsKnown() || name.Type() != cty.String {
			return nil, fmt.Errorf("local.%s: an entry's name is not a known string", local)
		}
		ev := envVar{name: name.AsString()}
		if e.Type().HasAttribute("value") {
			if val := e.GetAttr("value"); val.IsWhollyKnown() && !val.IsNull() && val.Type() == cty.String {
				ev.value, ev.known = val.AsString(), true
			}
		}
		out = append(out, ev)
	}
	return out, nil
}

// relayEnv is the relay container's plain environment as name -> value
// (values known before apply only).
func (d *deployment) relayEnv(t testing.TB) (map[string]string, []error) {
	t.Helper()
	list, err := d.envList(t, "relay_environment")
	if err != nil {
		return nil, []error{err}
	}
	env := map[string]string{}
	var errs []error
	for _, e := range list {
		if e.known {
			env[e.name] = e.value
		} else if strings.HasPrefix(e.name, "HOOKRELAY_DRAIN") || e.name == "HOOKRELAY_DEREGISTRATION_DELAY" || e.name == "HOOKRELAY_HEARTBEAT" {
			errs = append(errs, fmt.Errorf("%s: value must be known before apply to be checked", e.name))
		}
	}
	return env, errs
}

// envDuration parses one duration setting of the relay environment.
func envDuration(env map[string]string, name string) (time.Duration, error) {
	v, ok := env[name]
	if !ok {
		return 0, fmt.Errorf("the relay task does not set %s", name)
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a Go duration: %v", name, v, err)
	}
	return dur, nil
}
