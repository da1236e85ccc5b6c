package testlog

import (
	"os"
	"strings"
	"testing"
)

// TestFileRemovedAfterPass: a passing test leaves no log behind, and the
// file is where Dir says, named for the test.
func TestFileRemovedAfterPass(t *testing.T) {
	t.Setenv(DirEnv, t.TempDir())
	var name string
	t.Run("child process/of a subtest", func(t *testing.T) {
		f := File(t, "redis-server 127.0.0.1:1")
		name = f.Name()
		if _, err := f.WriteString("ready\n"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, Dir()+string(os.PathSeparator)) {
			t.Errorf("log %s is not in %s", name, Dir())
		}
		if base := name[len(Dir())+1:]; strings.ContainsAny(base, " /:") {
			t.Errorf("log file name %q has characters a shell would trip on", base)
		}
	})
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("log of a passed test still there: %s (%v)", name, err)
	}
}

func TestDirDefault(t *testing.T) {
	t.Setenv(DirEnv, "")
	if d := Dir(); !strings.HasSuffix(d, "hookrelay-test-logs") {
		t.Errorf("Dir() = %s", d)
	}
}
