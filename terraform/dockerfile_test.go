package terraform

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction: keyword, flags (--platform=…,
// --from=…) and the rest of the line, with continuations joined.
type instruction struct {
	cmd   string
	flags []string
	args  string
	line  int
}

// parseDockerfile splits a Dockerfile into instructions: comments and blank
// lines dropped, backslash continuations joined (enough for our file; not a
// full BuildKit parser: no heredocs, no escape directive).
func parseDockerfile(src string) ([]instruction, error) {
	var out []instruction
	sc := bufio.NewScanner(strings.NewReader(src))
	var cur strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		fields := strings.Fields(cur.String())
		cur.Reset()
		if len(fields) == 0 {
			continue // only continuations
		}
		in := instruction{cmd: strings.ToUpper(fields[0]), line: start}
		rest := fields[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
			in.flags, rest = append(in.flags, rest[0]), rest[1:]
		}
		in.args = strings.Join(rest, " ")
		out = append(out, in)
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation at end of file", start)
	}
	return out, sc.Err()
}

// stages groups instructions by FROM.
type stage struct {
	from, name string
	body       []instruction
}

func dockerStages(ins []instruction) ([]stage, error) {
	var out []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: FROM without an image", in.line)
			}
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			} else if len(f) != 1 {
				return nil, fmt.Errorf("line %d: FROM %q: want image [AS name]", in.line, in.args)
			}
			out = append(out, st)
			continue
		}
		if len(out) == 0 {
			if in.cmd == "ARG" {
				continue // ARGs before the first FROM are allowed
			}
			return nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		out[len(out)-1].body = append(out[len(out)-1].body, in)
	}
	return out, nil
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// checkDockerfile returns what relay/Dockerfile gets wrong.
func checkDockerfile(src string) []error {
	ins, err := parseDockerfile(src)
	if err != nil {
		return []error{err}
	}
	stages, err := dockerStages(ins)
	if err != nil {
		return []error{err}
	}
	if len(stages) < 2 {
		return []error{fmt.Errorf("want a multi-stage build (builder + runtime), found %d stage(s)", len(stages))}
	}
	var errs []error
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.from, "golang:1.26") {
		errs = append(errs, fmt.Errorf("builder stage is FROM %s, want golang:1.26 (go.mod's go version)", build.from))
	}
	runs := strings.Join(func() []string {
		var s []string
		for _, r := range build.find("RUN") {
			s = append(s, r.args)
		}
		return s
	}(), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "GOARCH=$TARGETARCH", "./relay"} {
		if !strings.Contains(runs, want) {
			errs = append(errs, fmt.Errorf("builder stage: no RUN contains %q", want))
		}
	}
	if final.from != "gcr.io/distroless/static-debian12:nonroot" {
		errs = append(errs, fmt.Errorf("final stage is FROM %s, want gcr.io/distroless/static-debian12:nonroot", final.from))
	}
	if u := final.find("USER"); len(u) == 0 || !strings.HasPrefix(u[len(u)-1].args, "nonroot") {
		errs = append(errs, fmt.Errorf("final stage must run as USER nonroot"))
	}
	if e := final.find("EXPOSE"); len(e) == 0 || e[0].args != "8080" {
		errs = append(errs, fmt.Errorf("final stage must EXPOSE 8080 (HOOKRELAY_ADDR :8080, the target group port)"))
	}
	if s := final.find("STOPSIGNAL"); len(s) == 0 || s[0].args != "SIGTERM" {
		errs = append(errs, fmt.Errorf("final stage must set STOPSIGNAL SIGTERM (the relay drains on it)"))
	}
	ep := final.find("ENTRYPOINT")
	var argv []string
	if len(ep) == 0 || json.Unmarshal([]byte(ep[len(ep)-1].args), &argv) != nil {
		errs = append(errs, fmt.Errorf("final stage needs an exec-form ENTRYPOINT [\"/relay\", \"serve\"] (shell form would swallow SIGTERM)"))
	} else if len(argv) != 2 || argv[0] != "/relay" || argv[1] != "serve" {
		errs = append(errs, fmt.Errorf("ENTRYPOINT is %q, want [\"/relay\", \"serve\"]", argv))
	}
	copied := false
	for _, c := range final.find("COPY") {
		copied = copied || (strings.Contains(strings.Join(c.flags, " "), "--from="+build.name) && strings.HasSuffix(c.args, " /relay"))
	}
	if !copied {
		errs = append(errs, fmt.Errorf("final stage must COPY --from=%s the binary to /relay", build.name))
	}
	return errs
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("../relay/Dockerfile")
	if err != nil {
		t.Fatalf("read relay/Dockerfile: %v", err)
	}
	for _, err := range checkDockerfile(string(src)) {
		t.Errorf("relay/Dockerfile: %v", err)
	}
}

func TestDockerfileCheckCatchesMutations(t *testing.T) {
	raw, err := os.ReadFile("../relay/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	for _, m := range [][2]string{
		{"USER nonroot:nonroot", "USER root"},
		{`ENTRYPOINT ["/relay", "serve"]`, `ENTRYPOINT /relay serve`},
		{`ENTRYPOINT ["/relay", "serve"]`, `ENTRYPOINT ["/relay", "dev"]`},
		{"static-debian12:nonroot", "static-debian12:latest"},
		{"CGO_ENABLED=0 ", ""},
		{"STOPSIGNAL SIGTERM", "STOPSIGNAL SIGINT"},
		{"EXPOSE 8080", "EXPOSE 80"},
	} {
		if !strings.Contains(src, m[0]) {
			t.Fatalf("mutation source %q not in relay/Dockerfile", m[0])
		}
		if errs := checkDockerfile(strings.Replace(src, m[0], m[1], 1)); len(errs) == 0 {
			t.Errorf("replacing %q with %q went unnoticed", m[0], m[1])
		}
	}
}

// FuzzParseDockerfile: the parser never panics, and every instruction it
// returns has a keyword.
func FuzzParseDockerfile(f *testing.F) {
	f.Add("FROM a AS b\nRUN x \\\n  y\n")
	f.Add("# c\nARG X\nFROM --platform=$P img\nCOPY --from=b /a /b\n")
	f.Fuzz(func(t *testing.T, src string) {
		ins, err := parseDockerfile(src)
		if err != nil {
			return
		}
		for _, in := range ins {
			if in.cmd == "" {
				t.Fatalf("instruction without keyword at line %d", in.line)
			}
		}
		_, _ = dockerStages(ins) // errors are expected for arbitrary input; must not panic
		checkDockerfile(src)
	})
}
