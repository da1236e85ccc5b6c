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
	"github.com/zclconf/go-cty/cty"
)

// Checks for the aws provider 6.x line (docs/deploy.md, "Terraform checks"):
// the review of 2026-12 found the module pinned to 5.x, reading an
// attribute 6.x deprecates, a public Function URL without the grants AWS
// requires, and a name rule looser than ElastiCache's.

// awsProvider6Re: the aws constraint admits 6.x and nothing else.
var awsProvider6Re = regexp.MustCompile(`^(>=\s*6\.\d+(\.\d+)?\s*,\s*<\s*7(\.0)*|~>\s*6\.\d+)$`)

// checkAWSProvider6 (review item 1): aws is pinned to the 6.x major, whose
// attributes (data.aws_region's region) the module reads.
func checkAWSProvider6(version, dir string) error {
	if !awsProvider6Re.MatchString(version) {
		return fmt.Errorf("%s: aws provider %q must be the 6.x line (\">= 6.0, < 7.0\"): the module reads data.aws_region.region, which 5.x lacks", dir, version)
	}
	return nil
}

// deprecatedAttrs lists attributes the aws provider 6.x deprecates and
// their replacements, by the resource or data source that has them. The
// schema the offline check uses (from cdktf) carries no deprecation flags,
// so this list stands in for Terraform's "Deprecated attribute" warning.
func deprecatedAttrs() map[string]map[string]string {
	return map[string]map[string]string{
		"data.aws_region": {"name": "region"},
	}
}

// checkDeprecated (review item 2): no expression reads an attribute 6.x
// deprecates.
func checkDeprecated(t testing.TB, d *deployment) []error {
	var errs []error
	for _, c := range []*config{d.module, d.example} {
		for _, path := range slices.Sorted(maps.Keys(c.bodies)) {
			hclsyntax.VisitAll(c.bodies[path], func(n hclsyntax.Node) hcl.Diagnostics {
				st, ok := n.(*hclsyntax.ScopeTraversalExpr)
				if !ok {
					return nil
				}
				if err := deprecatedRef(st.Traversal); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", st.SrcRange, err))
				}
				return nil
			})
		}
	}
	return errs
}

// deprecatedRef reports a reference like data.aws_region.current.name.
func deprecatedRef(tr hcl.Traversal) error {
	var names []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			names = append(names, s.Name)
		case hcl.TraverseAttr:
			names = append(names, s.Name)
		case hcl.TraverseIndex, hcl.TraverseSplat:
			continue // count/for_each instance keys
		}
	}
	typ, attrAt := "", 2 // resource: TYPE.NAME.ATTR
	if len(names) > 0 && names[0] == "data" {
		attrAt = 3 // data.TYPE.NAME.ATTR
		if len(names) > 1 {
			typ = "data." + names[1]
		}
	} else if len(names) > 0 {
		typ = names[0]
	}
	if len(names) <= attrAt {
		return nil
	}
	if repl, ok := deprecatedAttrs()[typ][names[attrAt]]; ok {
		return fmt.Errorf("%s is deprecated in aws provider 6.x; use .%s", strings.Join(names, "."), repl)
	}
	return nil
}

// checkFunctionURLAccess (review item 3): every public Function URL comes
// with the two grants AWS requires, lambda:InvokeFunctionUrl (for the URL's
// auth type NONE) and lambda:InvokeFunction, to everyone, on the same
// function and under the same count; without them every call answers 403.
func checkFunctionURLAccess(t testing.TB, d *deployment) []error {
	var errs []error
	perms := d.module.blocks("resource", "aws_lambda_permission")
	for _, url := range d.module.blocks("resource", "aws_lambda_function_url") {
		id := "aws_lambda_function_url." + url.Labels[1]
		if auth, err := d.str(attrExpr(url, "authorization_type"), id+".authorization_type"); err != nil || auth != "NONE" {
			continue // IAM-authorised URLs need grants for the callers, not the public
		}
		fn := d.module.text(attrExpr(url, "function_name").Range())
		count := exprText(d.module, attrExpr(url, "count"))
		for _, want := range []struct{ action, authType string }{
			{"lambda:InvokeFunctionUrl", "NONE"},
			{"lambda:InvokeFunction", ""},
		} {
			if !hasGrant(d, perms, fn, count, want.action, want.authType) {
				errs = append(errs, fmt.Errorf("%s has authorization_type NONE but no aws_lambda_permission grants %s to principal \"*\" on %s (count = %q)%s: AWS answers 403 to every request",
					id, want.action, fn, count, map[bool]string{true: " with function_url_auth_type = \"NONE\"", false: ""}[want.authType != ""]))
			}
		}
	}
	return errs
}

func hasGrant(d *deployment, perms []*hclsyntax.Block, fn, count, action, authType string) bool {
	for _, p := range perms {
		if d.module.text(attrExpr(p, "function_name").Range()) != fn || exprText(d.module, attrExpr(p, "count")) != count {
			continue
		}
		a, err1 := d.str(attrExpr(p, "action"), "action")
		principal, err2 := d.str(attrExpr(p, "principal"), "principal")
		if err1 != nil || err2 != nil || a != action || principal != "*" {
			continue
		}
		if authType == "" {
			return true
		}
		if got, err := d.str(attrExpr(p, "function_url_auth_type"), "function_url_auth_type"); err == nil && got == authType {
			return true
		}
	}
	return false
}

func exprText(c *config, e hclsyntax.Expression) string {
	if e == nil {
		return ""
	}
	return c.text(e.Range())
}

// elastiCacheIDRe is ElastiCache's rule for replication group, user and
// user group ids: a letter first, letters, digits and single hyphens, no
// hyphen last, at most 40 characters (checked apart).
var elastiCacheIDRe = regexp.MustCompile(`^[a-zA-Z](-?[a-zA-Z0-9])*$`)

// elastiCacheIDs evaluates the ids the module builds from var.name.
func elastiCacheIDs(t testing.TB, d *deployment) (map[string]string, error) {
	type ref struct {
		typ, name, attr string
	}
	out := map[string]string{}
	for _, r := range []ref{
		{"aws_elasticache_replication_group", "redis", "replication_group_id"},
		{"aws_elasticache_user", "default", "user_id"},
		{"aws_elasticache_user", "app", "user_id"},
		{"aws_elasticache_user_group", "redis", "user_group_id"},
	} {
		key := r.typ + "." + r.name + "." + r.attr
		v, err := d.str(attrExpr(d.module.block(t, "resource", r.typ, r.name), r.attr), key)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

// nameAccepted evaluates the module's own validation of var.name.
func nameAccepted(t testing.TB, d *deployment, name string) (bool, error) {
	v := d.module.block(t, "variable", "name")
	for _, val := range v.Body.Blocks {
		if val.Type != "validation" {
			continue
		}
		ctx := evalContext(map[string]cty.Value{"name": cty.StringVal(name)}, d.module)
		ok, diags := attrExpr(val, "condition").Value(ctx)
		if diags.HasErrors() || !ok.Type().Equals(cty.Bool) || !ok.IsKnown() {
			return false, fmt.Errorf("evaluate the name validation for %q: %s", name, diags.Error())
		}
		if ok.False() {
			return false, nil
		}
	}
	return true, nil
}

// checkNameIDs (review item 4): for a name the module accepts, every
// ElastiCache id built from it is one ElastiCache accepts.
func checkNameIDs(t testing.TB, d *deployment, name string) []error {
	accepted, err := nameAccepted(t, d, name)
	if err != nil {
		return []error{err}
	}
	if !accepted {
		return nil
	}
	ids, err := elastiCacheIDs(t, d.withVar("name", cty.StringVal(name)))
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(ids)) {
		if id := ids[key]; !elastiCacheIDRe.MatchString(id) || len(id) > 40 {
			errs = append(errs, fmt.Errorf("name %q passes the module's validation but gives %s = %q, which ElastiCache refuses (a letter first, no \"--\", no trailing \"-\", at most 40)", name, key, id))
		}
	}
	return errs
}

// nameCases are names each side of ElastiCache's rules; accept says what
// the module's validation must answer.
func nameCases() []struct {
	name   string
	accept bool
} {
	return []struct {
		name   string
		accept bool
	}{
		{"ab", true}, {"hookrelay", true}, {"hookrelay-prod", true}, {"a1-b2-c3", true},
		{"a" + strings.Repeat("b", 20), true}, // 21, the longest
		{"ab-", false}, {"a--b", false}, {"-ab", false}, {"1ab", false}, {"a", false},
		{"Hookrelay", false}, {"hook_relay", false}, {"a" + strings.Repeat("b", 21), false},
	}
}

// checkNameValidation runs checkNameIDs over nameCases and checks each
// case gets the answer it should.
func checkNameValidation(t testing.TB, d *deployment) []error {
	var errs []error
	for _, c := range nameCases() {
		got, err := nameAccepted(t, d, c.name)
		if err != nil {
			return []error{err}
		}
		if got != c.accept {
			errs = append(errs, fmt.Errorf("variable \"name\" validation accepts %q = %v, want %v", c.name, got, c.accept))
		}
		errs = append(errs, checkNameIDs(t, d, c.name)...)
	}
	return errs
}

// FuzzNameValidation: whatever name the module's validation accepts builds
// ElastiCache ids that ElastiCache accepts.
func FuzzNameValidation(f *testing.F) {
	for _, c := range nameCases() {
		f.Add(c.name)
	}
	d := loadDeployment(f)
	f.Fuzz(func(t *testing.T, name string) {
		for _, err := range checkNameIDs(t, d, name) {
			t.Error(err)
		}
	})
}
