package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parsedFlags is what the command line said, applied after the file and
// the environment so flags win.
type parsedFlags struct {
	config string
	values map[string][]string // setting name -> values in the order given
	args   []string
}

// flagValue records a setting's flag values; they are applied later, in
// precedence order, by applyFlags.
type flagValue struct {
	s   *setting
	out *parsedFlags
}

func (v *flagValue) String() string { return "" }

func (v *flagValue) Set(x string) error {
	v.out.values[v.s.name] = append(v.out.values[v.s.name], x)
	return nil
}

// IsBoolFlag lets boolean settings be given as a bare --redis-iam-auth.
func (v *flagValue) IsBoolFlag() bool { return v.s != nil && v.s.kind == "bool" }

// parseFlags parses args with a FlagSet built from the settings table.
// The flag package accepts both -name and --name.
func parseFlags(mode Mode, table []*setting, args []string, o *loadOptions) (*parsedFlags, error) {
	out := &parsedFlags{values: make(map[string][]string)}
	fs := flag.NewFlagSet(o.program, flag.ContinueOnError)
	// The flag package's own messages would print the whole usage on every
	// typo; Load returns the error instead and prints usage only for -h.
	fs.SetOutput(io.Discard)
	fs.StringVar(&out.config, "config", "", "YAML config file (HOOKRELAY_CONFIG)")
	for _, s := range table {
		fs.Var(&flagValue{s: s, out: out}, s.flagName(), s.usage)
	}
	if o.flags != nil {
		o.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(o.output, o.program, mode, table, fs)
			return nil, ErrHelp
		}
		return nil, fmt.Errorf("%w (run %s -h for the list of settings)", err, o.program)
	}
	out.args = fs.Args()
	return out, nil
}

// writeUsage prints every setting with its flag, environment variable,
// type and the mode's default, then any command-specific flags.
func writeUsage(w io.Writer, program string, mode Mode, table []*setting, fs *flag.FlagSet) {
	def := Defaults(mode)
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [flags]\n\n", program)
	b.WriteString("Every setting is a flag, an environment variable and a key of the YAML config file.\n")
	b.WriteString("Flags win over the environment, which wins over the file. Secret values may be\n")
	b.WriteString("references: env:NAME, file:/path, aws-sm://secret[#json-key], aws-ssm:///parameter.\n\n")
	b.WriteString("  --config path\n        YAML config file  [HOOKRELAY_CONFIG]\n")
	known := map[string]bool{"config": true}
	for _, s := range table {
		known[s.flagName()] = true
		env := s.envName()
		if len(s.aliases) > 0 {
			env += ", " + strings.Join(s.aliases, ", ")
		}
		usage := s.usage
		if s.secret {
			usage += "; secret reference allowed"
		}
		fmt.Fprintf(&b, "  --%s %s\n        %s  [%s]", s.flagName(), s.kind, usage, env)
		if d := s.get(def); d != "" {
			fmt.Fprintf(&b, " (default %s)", d)
		}
		b.WriteString("\n")
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if known[f.Name] {
			return
		}
		if first {
			fmt.Fprintf(&b, "\nFlags of %s:\n", program)
			first = false
		}
		fmt.Fprintf(&b, "  --%s\n        %s", f.Name, f.Usage)
		if f.DefValue != "" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	// A failed usage write has nowhere better to be reported.
	_, _ = io.WriteString(w, b.String())
}
