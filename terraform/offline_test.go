package terraform

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The offline check (make tf-check, docs/deploy.md): real terraform runs
// init, validate, plan and test on a copy of this folder against the
// schema-only provider in internal/schemaprovider, installed from a
// filesystem mirror. Nothing reaches a network and nothing is written here.

// terraformVersion is what the check is written for; `make tf-check`
// builds it where no terraform is installed.
const terraformVersion = "1.11.4"

// offline is one prepared run: a terraform binary, the CLI config that
// installs the schema-only provider, and a copy of terraform/.
type offline struct {
	terraform string
	cliConfig string
	root      string // the copy of terraform/
}

// findTerraform looks in $TERRAFORM, then PATH, then GOPATH/bin (where
// .ci/terraform.sh installs it).
func findTerraform() (string, error) {
	if p := os.Getenv("TERRAFORM"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", errors.New("terraform is not on PATH and `go env GOPATH` failed")
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", "terraform")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("terraform is not on PATH, in $TERRAFORM or in GOPATH/bin")
}

// newOffline builds the provider and its mirror into a temp dir and copies
// terraform/ next to stand-ins for the files plan reads (the Lambda zips of
// `make lambda`, the example's hookrelay.yaml). Without terraform the test
// is skipped, saying how to get it.
func newOffline(t *testing.T) *offline {
	t.Helper()
	tf, err := findTerraform()
	if err != nil && fullCheck() {
		t.Fatalf("offline terraform check: %v (bash .ci/terraform.sh installs terraform %s)", err, terraformVersion)
	}
	if err != nil {
		t.Skipf("offline terraform check skipped: %v. `make tf-check` installs terraform %s (bash .ci/terraform.sh) and runs it", err, terraformVersion)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "schemaprovider")
	build := exec.Command("go", "build", "-o", bin, "./internal/schemaprovider")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the schema-only provider: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "mirror", filepath.Join(tmp, "mirror")).CombinedOutput()
	if err != nil {
		t.Fatalf("lay out the provider mirror: %v\n%s", err, out)
	}
	o := &offline{terraform: tf, cliConfig: strings.TrimSpace(string(out)), root: filepath.Join(tmp, "terraform")}
	if err := copyTerraformTree(".", o.root); err != nil {
		t.Fatalf("copy terraform/: %v", err)
	}
	// path.root/../../../build/lambda in the example; the module's tests
	// use the same place.
	zips := filepath.Join(tmp, "build", "lambda")
	if err := os.MkdirAll(zips, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"ingest", "publish"} {
		if err := os.WriteFile(filepath.Join(zips, fn+"-arm64.zip"), []byte("stand-in for make lambda"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	example := filepath.Join(o.root, "examples", "complete")
	yaml, err := os.ReadFile(filepath.Join(example, "hookrelay.yaml.example"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(example, "hookrelay.yaml"), yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

// copyTerraformTree copies the Terraform sources (.tf, .tftest.hcl and the
// examples' *.example files), leaving out Go files, .terraform/ and lock
// files.
func copyTerraformTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".terraform", "internal", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".tf") && !strings.HasSuffix(name, ".tftest.hcl") && !strings.HasSuffix(name, ".example") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, path)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// run runs terraform in dir (relative to the copy) and returns its output
// and whether it exited 0. Terraform gets no network-dependent settings:
// only the mirror's CLI config, no checkpoint calls, no prompts.
func (o *offline) run(t *testing.T, dir string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.terraform, args...)
	cmd.Dir = filepath.Join(o.root, dir)
	cmd.Env = append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+o.cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"TF_PLUGIN_CACHE_DIR=",
		"TF_LOG=",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("terraform %s in %s did not finish in time:\n%s", strings.Join(args, " "), dir, out.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run terraform %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), err == nil
}

// mustRun is run that fails the test when terraform fails.
func (o *offline) mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, ok := o.run(t, dir, args...)
	if !ok {
		t.Fatalf("terraform %s in %s failed:\n%s", strings.Join(args, " "), dir, out)
	}
	return out
}

func (o *offline) init(t *testing.T, dir string) {
	t.Helper()
	o.mustRun(t, dir, "init", "-backend=false", "-input=false", "-no-color")
}
