package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/secrets"
)

// ErrHelp is returned by Load when the arguments asked for help (-h,
// -help, --help); the usage has been written. Callers exit 0.
var ErrHelp = flag.ErrHelp

// LoadOption customises Load.
type LoadOption func(*loadOptions)

type loadOptions struct {
	output         io.Writer
	program        string
	resolverOpts   []secrets.ResolverOption
	resolveTimeout time.Duration
	readFile       func(string) ([]byte, error)
	flags          func(*flag.FlagSet)
	environ        []string
}

// WithOutput sets where -h writes the usage (default os.Stderr).
func WithOutput(w io.Writer) LoadOption { return func(o *loadOptions) { o.output = w } }

// WithProgramName sets the command shown in the usage line ("relay serve").
func WithProgramName(name string) LoadOption { return func(o *loadOptions) { o.program = name } }

// WithResolverOptions passes options to the secrets.Resolver Load builds
// (secrets.WithAWSConfig in tests and Lambdas that already hold an aws.Config).
func WithResolverOptions(opts ...secrets.ResolverOption) LoadOption {
	return func(o *loadOptions) { o.resolverOpts = append(o.resolverOpts, opts...) }
}

// WithResolveTimeout bounds the resolution of all secret references
// (default DefaultSecretResolveTimeout).
func WithResolveTimeout(d time.Duration) LoadOption {
	return func(o *loadOptions) { o.resolveTimeout = d }
}

// WithConfigFileReader replaces os.ReadFile for the YAML config file.
func WithConfigFileReader(fn func(string) ([]byte, error)) LoadOption {
	return func(o *loadOptions) { o.readFile = fn }
}

// WithFlags lets a command define its own flags (relay token: --sub,
// --topic) on the same FlagSet, so one parse handles both and -h lists
// both. Values land wherever fn's flag definitions point.
func WithFlags(fn func(fs *flag.FlagSet)) LoadOption {
	return func(o *loadOptions) { o.flags = fn }
}

// WithEnviron gives Load the whole environment (os.Environ()) so it can
// warn about HOOKRELAY_* variables that are no setting (typos such as
// HOOKRELAY_HEARTBEET). Values are still read through getenv.
func WithEnviron(environ []string) LoadOption {
	return func(o *loadOptions) { o.environ = environ }
}

// Load builds the configuration of a binary: Defaults(mode), overridden by
// the YAML file named by --config or HOOKRELAY_CONFIG, then by HOOKRELAY_*
// environment variables (and aliases such as REDIS_URL), then by flags
// parsed from args (the arguments after the program/subcommand name).
// Secret references are resolved once, within the resolve timeout, and the
// result is validated. Every error names the key as the operator wrote it.
// getenv nil means os.Getenv. Positional arguments are left in Config.Args.
func Load(ctx context.Context, mode Mode, args []string, getenv func(string) string, opts ...LoadOption) (*Config, error) {
	o := loadOptions{output: os.Stderr, resolveTimeout: DefaultSecretResolveTimeout, readFile: os.ReadFile}
	for _, opt := range opts {
		opt(&o)
	}
	if o.program == "" {
		o.program = "relay " + string(mode)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	table := settings()

	fl, err := parseFlags(mode, table, args, &o)
	if err != nil {
		return nil, err
	}

	c := Defaults(mode)
	c.origin = make(map[string]string)
	c.Args = fl.args

	path, pathKey := fl.config, "--config"
	if path == "" {
		path, pathKey = strings.TrimSpace(getenv("HOOKRELAY_CONFIG")), "HOOKRELAY_CONFIG"
	}
	if path != "" {
		data, err := o.readFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: read config file: %w", pathKey, err)
		}
		if err := c.applyFile(table, path, data); err != nil {
			return nil, err
		}
		c.ConfigFile = path
	}
	if err := c.applyEnv(table, getenv); err != nil {
		return nil, err
	}
	c.loadWarnings = unknownEnv(table, o.environ)
	if err := c.applyFlags(table, fl); err != nil {
		return nil, err
	}
	if c.RedisIAMAuth && c.RedisIAMRegion == "" {
		c.RedisIAMRegion = firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	}

	c.secrets = secrets.NewResolver(getenv, o.resolverOpts...)
	rctx, cancel := context.WithTimeout(ctx, o.resolveTimeout)
	defer cancel()
	if err := c.resolveSecrets(rctx); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// applyEnv reads HOOKRELAY_<NAME>, then the aliases. Empty counts as
// unset, the usual convention for container environments.
func (c *Config) applyEnv(table []*setting, getenv func(string) string) error {
	var errs []error
	for _, s := range table {
		for _, name := range append([]string{s.envName()}, s.aliases...) {
			v := getenv(name)
			if v == "" {
				continue
			}
			c.origin[s.name] = name
			if err := s.setString(c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			break
		}
	}
	return errors.Join(errs...)
}

// applyFlags applies the flags in settings order. A list flag given twice
// accumulates; a scalar flag given twice keeps the last value.
func (c *Config) applyFlags(table []*setting, fl *parsedFlags) error {
	var errs []error
	for _, s := range table {
		vals, ok := fl.values[s.name]
		if !ok {
			continue
		}
		label := "--" + s.flagName()
		c.origin[s.name] = label
		var err error
		if s.list != nil {
			var items []string
			for _, v := range vals {
				items = append(items, splitList(v)...)
			}
			err = s.list(c, items)
		} else {
			err = s.set(c, vals[len(vals)-1])
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
		}
	}
	return errors.Join(errs...)
}

// resolveSecrets replaces every secret reference by its value. Errors name
// the key and the reference, never a value.
func (c *Config) resolveSecrets(ctx context.Context) error {
	var errs []error
	one := func(name, which string, dst *string) {
		v, err := c.secrets.Resolve(ctx, *dst)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", c.Key(name), which, err))
			return
		}
		*dst = v
	}
	one("redis_url", "", &c.RedisURL)
	one("redis_password", "", &c.RedisPassword)
	one("admin_key", "", &c.AdminKey)
	for i := range c.TokenKeys {
		which := ""
		if len(c.TokenKeys) > 1 {
			which = fmt.Sprintf(" (key %d)", i+1)
		}
		one("token_key", which, &c.TokenKeys[i])
	}
	for i := range c.APIKeys {
		one("api_keys", " ("+c.APIKeys[i].Name+")", &c.APIKeys[i].Key)
	}
	return errors.Join(errs...)
}

// Key returns the setting's key as the operator wrote it: "--heartbeat",
// "HOOKRELAY_HEARTBEAT", "REDIS_URL" or "hookrelay.yaml:12: heartbeat";
// for a setting left at its default, its environment variable. Use it in
// start-up errors about a setting (e.g. Redis unreachable).
func (c *Config) Key(name string) string {
	if l, ok := c.origin[name]; ok {
		return l
	}
	if s := settingByName(settings(), name); s != nil && len(s.aliases) > 0 {
		return s.aliases[0]
	}
	return envName(name)
}

// Secrets returns the secrets.Resolver Load used, with its cache and AWS
// configuration, for references found elsewhere (webhook source secrets)
// and for the ElastiCache token signer's aws.Config (secrets.Resolver.AWSConfig).
func (c *Config) Secrets() *secrets.Resolver {
	if c.secrets == nil {
		c.secrets = secrets.NewResolver(os.Getenv)
	}
	return c.secrets
}

// unknownEnv warns about HOOKRELAY_ variables no setting reads.
func unknownEnv(table []*setting, environ []string) []string {
	known := make(map[string]bool)
	for _, v := range EnvVars() {
		known[v] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "HOOKRELAY_") || known[name] {
			continue
		}
		out = append(out, fmt.Sprintf("%s: unknown setting, ignored%s", name,
			suggest(table, name, func(s *setting) string { return s.envName() })))
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
