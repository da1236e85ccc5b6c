package terraform

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hrconfig "github.com/hookrelay/hookrelay/infra/config"
)

// envNameRe matches the relay's environment variable names in any .tf text
// (values, comments, descriptions): a name that is not a real setting is a
// typo the relay would silently ignore.
var envNameRe = regexp.MustCompile(`\b(HOOKRELAY_[A-Z0-9_]*[A-Z0-9]|REDIS_URL)\b`)

// checkEnvNames: every HOOKRELAY_* name written in the .tf files is a
// setting config.Load reads.
func checkEnvNames(t testing.TB, d *deployment) []error {
	known := map[string]bool{}
	for _, n := range hrconfig.EnvVars() {
		known[n] = true
	}
	var errs []error
	for _, c := range []*config{d.module, d.example} {
		for _, path := range slices.Sorted(maps.Keys(c.files)) {
			for i, line := range strings.Split(string(c.files[path]), "\n") {
				for _, name := range envNameRe.FindAllString(line, -1) {
					if !known[name] {
						errs = append(errs, fmt.Errorf("%s:%d: %s is not a hookrelay setting (config.EnvVars)", path, i+1, name))
					}
				}
			}
		}
	}
	return errs
}

// references returns the names of root.NAME traversals in every expression
// of the configuration.
func (c *config) references(root string) map[string][]hcl.Range {
	out := map[string][]hcl.Range{}
	for _, path := range slices.Sorted(maps.Keys(c.bodies)) {
		hclsyntax.VisitAll(c.bodies[path], func(n hclsyntax.Node) hcl.Diagnostics {
			st, ok := n.(*hclsyntax.ScopeTraversalExpr)
			if !ok || st.Traversal.RootName() != root || len(st.Traversal) < 2 {
				return nil
			}
			if a, ok := st.Traversal[1].(hcl.TraverseAttr); ok {
				out[a.Name] = append(out[a.Name], st.SrcRange)
			}
			return nil
		})
	}
	return out
}

// checkVariables: every var.X is declared and every declared variable is
// used, in the module and in the example.
func checkVariables(t testing.TB, d *deployment) []error {
	var errs []error
	for _, c := range []*config{d.module, d.example} {
		declared := map[string]bool{}
		for _, b := range c.blocks("variable") {
			declared[b.Labels[0]] = true
		}
		used := c.references("var")
		for _, name := range slices.Sorted(maps.Keys(used)) {
			if !declared[name] {
				errs = append(errs, fmt.Errorf("%s: var.%s is referenced but not declared", used[name][0], name))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(declared)) {
			if _, ok := used[name]; !ok {
				errs = append(errs, fmt.Errorf("%s: variable %q is declared but never used", c.dir, name))
			}
		}
		// locals too: a referenced local that does not exist is a typo.
		locals := map[string]bool{}
		for _, b := range c.blocks("locals") {
			for name := range b.Body.Attributes {
				locals[name] = true
			}
		}
		for name, rs := range c.references("local") {
			if !locals[name] {
				errs = append(errs, fmt.Errorf("%s: local.%s is referenced but not defined", rs[0], name))
			}
		}
	}
	return errs
}

// checkModuleInputs: the example passes only inputs the module declares and
// every required one.
func checkModuleInputs(t testing.TB, d *deployment) []error {
	declared := map[string]bool{}
	required := map[string]bool{}
	for _, b := range d.module.blocks("variable") {
		declared[b.Labels[0]] = true
		if _, ok := b.Body.Attributes["default"]; !ok {
			required[b.Labels[0]] = true
		}
	}
	meta := map[string]bool{"source": true, "version": true, "providers": true, "count": true, "for_each": true, "depends_on": true}
	var errs []error
	mods := d.example.blocks("module")
	if len(mods) == 0 {
		return []error{fmt.Errorf("%s does not use the module", d.example.dir)}
	}
	for _, mb := range mods {
		for name, attr := range mb.Body.Attributes {
			if !meta[name] && !declared[name] {
				errs = append(errs, fmt.Errorf("%s: module %q passes %s, which the module does not declare", attr.SrcRange, mb.Labels[0], name))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(required)) {
			if _, ok := mb.Body.Attributes[name]; !ok {
				errs = append(errs, fmt.Errorf("module %q does not pass the required input %s", mb.Labels[0], name))
			}
		}
	}
	return errs
}

// providerVersionRe: a constraint with a lower and an upper bound (or ~>).
var providerVersionRe = regexp.MustCompile(`^(~>\s*\d+\.\d+.*|>=\s*\d+\.\d+.*,\s*<\s*\d+.*)$`)

// checkProviders: every configuration pins every provider it needs, AWS to
// the 6.x major the resources are written for.
func checkProviders(t testing.TB, d *deployment) []error {
	var errs []error
	for _, c := range []*config{d.module, d.example} {
		var rp *hclsyntax.Block
		for _, tb := range c.blocks("terraform") {
			if n := nested(tb, "required_providers"); n != nil {
				rp = n
			}
		}
		if rp == nil {
			errs = append(errs, fmt.Errorf("%s has no terraform { required_providers }", c.dir))
			continue
		}
		for _, want := range []string{"aws", "random", "archive"} {
			attr, ok := rp.Body.Attributes[want]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: required_providers lacks %s", c.dir, want))
				continue
			}
			v, diags := attr.Expr.Value(nil)
			if diags.HasErrors() || !v.Type().IsObjectType() || !v.Type().HasAttribute("version") || !v.Type().HasAttribute("source") {
				errs = append(errs, fmt.Errorf("%s: required_providers.%s needs source and version", c.dir, want))
				continue
			}
			version := v.GetAttr("version").AsString()
			if !providerVersionRe.MatchString(version) {
				errs = append(errs, fmt.Errorf("%s: required_providers.%s version %q is not pinned to a major (want \">= X.Y, < Z\" or \"~> X.Y\")", c.dir, want, version))
			}
			if want == "aws" {
				if err := checkAWSProvider6(version, c.dir); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errs
}
