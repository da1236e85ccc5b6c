package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/secrets/awsdefault"
)

// tokenFlags are relay token's own flags, parsed with the settings.
type tokenFlags struct {
	sub, name, topics, publish string
	ttl                        time.Duration
}

// runToken is `relay token --sub S --topics a,b --publish c --ttl 15m`: it
// prints a token signed with the first HOOKRELAY_TOKEN_KEY, and nothing
// else on stdout, so TOKEN=$(relay token ...) works.
func runToken(ctx context.Context, args []string, e env) int {
	var f tokenFlags
	cfg, err := config.Load(ctx, config.ModeDev, args, e.getenv,
		config.WithOutput(e.stderr), config.WithEnviron(e.environ), config.WithProgramName("relay token"),
		config.WithResolverOptions(awsdefault.ResolverOptions()...),
		config.WithFlags(func(fs *flag.FlagSet) {
			fs.StringVar(&f.sub, "sub", "", "token subject (user id); {sub} in grants expands to it")
			fs.StringVar(&f.name, "name", "", "display name presence shows for the subject (optional)")
			fs.StringVar(&f.topics, "topics", "", "subscribe grants, comma-separated: exact topics, prefix:* or *")
			fs.StringVar(&f.publish, "publish", "", "publish grants, comma-separated")
			fs.DurationVar(&f.ttl, "ttl", auth.DefaultTokenTTL, "lifetime")
		}))
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "relay token: %v\n", err)
		return 2
	}
	if cfg.SigningKey() == "" {
		fmt.Fprintf(e.stderr, "relay token: %s is not set: it signs the token\n", cfg.Key("token_key"))
		return 2
	}
	if f.sub == "" {
		fmt.Fprintln(e.stderr, "relay token: --sub is required")
		return 2
	}
	if f.ttl <= 0 {
		fmt.Fprintln(e.stderr, "relay token: --ttl must be positive")
		return 2
	}
	tok, err := auth.Mint(cfg.SigningKey(), auth.MintClaims{
		Subject:  f.sub,
		Name:     f.name,
		Topics:   splitComma(f.topics),
		Publish:  splitComma(f.publish),
		TTL:      f.ttl,
		Audience: cfg.TokenAudience,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "relay token: %v\n", err)
		return 2
	}
	fmt.Fprintln(e.stdout, tok)
	return 0
}

// splitComma splits a comma-separated list, dropping empty items.
func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
