package chaos

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	got, err := ParseVmRSS([]byte("Name:\trelay\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n"))
	if err != nil || got != 12345*1024 {
		t.Fatalf("ParseVmRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"", "Name: x\n", "VmRSS: 12 MB\n", "VmRSS: x kB\n", "VmRSS: -5 kB\n"} {
		if _, err := ParseVmRSS([]byte(bad)); err == nil {
			t.Errorf("ParseVmRSS(%q): no error", bad)
		}
	}
}

func TestRSSAndFindPID(t *testing.T) {
	entry := "HOOKRELAY_CHAOS_PROBE=" + strconv.Itoa(os.Getpid())
	cmd := exec.Command("sleep", "30")
	cmd.Env = append(os.Environ(), entry)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // it may be gone already
		_ = cmd.Wait()         // a killed sleep's status says nothing
	})
	pid, err := FindPID(entry)
	if err != nil || pid != cmd.Process.Pid {
		t.Fatalf("FindPID = %d, %v; want %d", pid, err, cmd.Process.Pid)
	}
	if pid, err := FindPID("HOOKRELAY_NO_SUCH_ENTRY=1"); !errors.Is(err, ErrNoProcess) {
		t.Fatalf("FindPID(missing) = %d, %v", pid, err)
	}
	if rss, err := RSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("RSS(self) = %d, %v", rss, err)
	}
}

func TestMetricValue(t *testing.T) {
	text := strings.Join([]string{
		"# HELP go_goroutines Number of goroutines that currently exist.",
		"# TYPE go_goroutines gauge",
		"go_goroutines_total_fake 3",
		`go_goroutines{x="y"} 9`,
		"go_goroutines 42",
		"process_resident_memory_bytes 1.2345e+07",
	}, "\n")
	if v, err := MetricValue([]byte(text), "go_goroutines"); err != nil || v != 42 {
		t.Fatalf("go_goroutines = %v, %v", v, err)
	}
	if v, err := MetricValue([]byte(text), "process_resident_memory_bytes"); err != nil || v != 12345000 {
		t.Fatalf("rss = %v, %v", v, err)
	}
	if _, err := MetricValue([]byte(text), "nope"); err == nil {
		t.Fatal("missing metric: no error")
	}
	if _, err := MetricValue([]byte("x 1 2 3\n"), "x"); err == nil {
		t.Fatal("bad line: no error")
	}
}

func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("VmRSS:\t  100 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseVmRSS(b)
		if err == nil && (n < 0 || n%1024 != 0) {
			t.Fatalf("ParseVmRSS = %d", n)
		}
	})
}

func FuzzMetricValue(f *testing.F) {
	f.Add([]byte("go_goroutines 42\n"), "go_goroutines")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		// Any input: an answer or an error, never a panic.
		_, _ = MetricValue(b, name) // the error is the expected outcome for most inputs
	})
}
