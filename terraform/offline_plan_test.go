package terraform

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// planJSON is the part of `terraform show -json PLAN` the checks read.
type planJSON struct {
	ResourceChanges []struct {
		Address string `json:"address"`
		Change  struct {
			Actions []string       `json:"actions"`
			After   map[string]any `json:"after"`
		} `json:"change"`
	} `json:"resource_changes"`
}

// resources maps the address of every resource the plan creates to its
// planned values (unknowns are absent or null).
func (p planJSON) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, rc := range p.ResourceChanges {
		if strings.HasPrefix(rc.Address, "data.") || strings.Contains(rc.Address, ".data.") {
			continue
		}
		out[rc.Address] = rc.Change.After
	}
	return out
}

// planVariant is one way to deploy the example, with what its plan must
// hold beyond "terraform plan succeeds".
type planVariant struct {
	name  string
	vars  []string
	short bool // also in the short check that `make test` runs
	check func(res map[string]map[string]any) error
}

const (
	replicationGroup = "module.hookrelay.aws_elasticache_replication_group.redis"
	appUser          = "module.hookrelay.aws_elasticache_user.app[0]"
	userGroup        = "module.hookrelay.aws_elasticache_user_group.redis[0]"
	parameterGroup   = "module.hookrelay.aws_elasticache_parameter_group.redis"
)

func planVariants() []planVariant {
	return []planVariant{
		{"auth_token", nil, true, func(res map[string]map[string]any) error {
			if _, ok := res[appUser]; ok {
				return fmt.Errorf("auth_token mode plans an RBAC user")
			}
			return wantValue(res, replicationGroup, "auth_token_update_strategy", "ROTATE")
		}},
		{"rbac", []string{"redis_auth_mode=rbac"}, false, func(res map[string]map[string]any) error {
			if _, ok := res[userGroup]; !ok {
				return fmt.Errorf("rbac mode plans no user group")
			}
			return wantNested(res, appUser, "authentication_mode", "type", "password")
		}},
		{"iam", []string{"redis_auth_mode=iam"}, false, func(res map[string]map[string]any) error {
			if err := wantNested(res, appUser, "authentication_mode", "type", "iam"); err != nil {
				return err
			}
			// IAM users must have user_name == user_id.
			return wantValue(res, appUser, "user_name", res[appUser]["user_id"])
		}},
		{"cluster", []string{"redis_auth_mode=iam", "redis_num_node_groups=3"}, true, func(res map[string]map[string]any) error {
			if err := wantValue(res, replicationGroup, "num_node_groups", 3.0); err != nil {
				return err
			}
			if err := wantValue(res, replicationGroup, "num_cache_clusters", nil); err != nil {
				return err
			}
			return wantNested(res, parameterGroup, "parameter", "value", "yes")
		}},
	}
}

func wantValue(res map[string]map[string]any, addr, attr string, want any) error {
	r, ok := res[addr]
	if !ok {
		return fmt.Errorf("the plan has no %s", addr)
	}
	if got := r[attr]; fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s.%s = %v, want %v", addr, attr, got, want)
	}
	return nil
}

// wantNested checks attr of the first element of a nested block.
func wantNested(res map[string]map[string]any, addr, block, attr string, want any) error {
	r, ok := res[addr]
	if !ok {
		return fmt.Errorf("the plan has no %s", addr)
	}
	items, _ := r[block].([]any)
	if len(items) == 0 {
		return fmt.Errorf("%s has no %s block", addr, block)
	}
	obj, _ := items[0].(map[string]any)
	if got := obj[attr]; fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s.%s[0].%s = %v, want %v", addr, block, attr, got, want)
	}
	return nil
}

// fullCheck: `make tf-check` sets HOOKRELAY_TF_CHECK=full; `make test`
// runs the short check (fmt, validate, two plans, the schema mutations).
func fullCheck() bool { return os.Getenv("HOOKRELAY_TF_CHECK") == "full" }

// TestTerraformOffline is the offline check: fmt, init + validate of the
// module and the example, a plan of the example per Redis auth mode and
// with cluster mode, the module's `terraform test` files, and the
// mutations of offline_mutation_test.go.
func TestTerraformOffline(t *testing.T) {
	o := newOffline(t)
	full := fullCheck()
	t.Logf("%s, %s", strings.SplitN(o.mustRun(t, ".", "version"), "\n", 2)[0], o.terraform)
	const module, example = "modules/hookrelay", "examples/complete"

	t.Run("fmt", func(t *testing.T) {
		o.mustRun(t, ".", "fmt", "-check", "-recursive", "-diff", "-no-color")
	})
	for _, dir := range []string{module, example} {
		o.init(t, dir)
		t.Run("validate/"+dir, func(t *testing.T) {
			out := o.mustRun(t, dir, "validate", "-no-color")
			if !strings.Contains(out, "Success! The configuration is valid.") || strings.Contains(out, "Warning") {
				t.Fatalf("terraform validate in %s:\n%s", dir, out)
			}
			t.Logf("%s: %s", dir, strings.TrimSpace(out))
		})
	}
	for _, v := range planVariants() {
		t.Run("plan/"+v.name, func(t *testing.T) {
			if !full && !v.short {
				t.Skip("full check only (make tf-check)")
			}
			o.planVariant(t, example, v)
		})
	}
	t.Run("plan/name_validation", func(t *testing.T) {
		if !full {
			t.Skip("full check only (make tf-check)")
		}
		// Review item 4 end to end: the example names the module
		// hookrelay-<environment>; a trailing dash must stop the plan.
		out, ok := o.run(t, example, "plan", "-refresh=false", "-lock=false", "-input=false", "-no-color",
			"-var-file=terraform.tfvars.example", "-var", "environment=prod-")
		if ok || !strings.Contains(out, "Invalid value for variable") || !strings.Contains(out, "not ending with a dash") {
			t.Fatalf("plan with name hookrelay-prod- (ok=%v):\n%s", ok, out)
		}
	})
	t.Run("test/"+module, func(t *testing.T) {
		if !full {
			t.Skip("full check only (make tf-check)")
		}
		out := o.mustRun(t, module, "test", "-no-color")
		t.Logf("%s", lastLine(out, "Success!"))
	})
	t.Run("mutations", func(t *testing.T) { runMutations(t, o, full) })
}

// planVariant plans the example with one variant's inputs and checks the
// planned values.
func (o *offline) planVariant(t *testing.T, dir string, v planVariant) {
	args := []string{"plan", "-refresh=false", "-lock=false", "-input=false", "-no-color",
		"-var-file=terraform.tfvars.example", "-out=" + v.name + ".tfplan"}
	for _, kv := range v.vars {
		args = append(args, "-var", kv)
	}
	out := o.mustRun(t, dir, args...)
	if strings.Contains(out, "Warning") {
		t.Errorf("plan warns:\n%s", out)
	}
	var p planJSON
	if err := json.Unmarshal([]byte(o.mustRun(t, dir, "show", "-json", v.name+".tfplan")), &p); err != nil {
		t.Fatalf("decode the plan: %v", err)
	}
	if err := v.check(p.resources()); err != nil {
		t.Error(err)
	}
	t.Logf("%s (%s): %s", v.name, strings.Join(v.vars, " "), lastLine(out, "Plan:"))
}

// lastLine returns the last output line starting with prefix.
func lastLine(out, prefix string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
