package lambdaenv

import (
	"debug/elf"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/functions/internal/runtimetest"
)

const module = "github.com/hookrelay/hookrelay/"

// notInLambdas are symbols only the relay calls. The webhook rules'
// text/template makes the linker keep every exported method of a type
// that reaches an interface, so these stay out of the zips only while
// they belong to types the Lambdas never use (docs/lambda.md): the Redis
// bus's subscribe side (redis.Bus, the Lambdas open a redis.Publisher),
// the delivery log's reads (deliverylog.Redis, ingest writes through a
// RedisAppender) and the console's replay and test sends
// (webhook.Console). Prefixes end in "." or "/" where a whole package is
// meant.
var notInLambdas = []string{
	module + "infra/bus/redis.(*Bus).",
	module + "infra/bus/redis.(*dispatcher).",
	module + "infra/deliverylog.(*Redis).",
	module + "infra/webhook.(*Console).",
	module + "infra/webhook.signTest",
	module + "relay/",
	module + "infra/auth.",
	"github.com/prometheus/",
}

// TestLambdasLinkNoRelayOnlyCode reads the symbol table of both Lambda
// bootstraps (make test hands in its unstripped builds) and fails on any
// symbol of notInLambdas: a regression there costs zip bytes (each zip has
// a budget, .ci/lambda.sh) for code the Lambdas never run.
func TestLambdasLinkNoRelayOnlyCode(t *testing.T) {
	for _, pkg := range []string{"functions/ingest", "functions/publish"} {
		t.Run(pkg, func(t *testing.T) {
			syms := symbols(t, runtimetest.Build(t, module+pkg))
			if !syms["main.main"] {
				t.Fatalf("main.main is not in the symbol table (%d symbols): a stripped binary cannot be checked", len(syms))
			}
			var bad []string
			for s := range syms {
				for _, p := range notInLambdas {
					if strings.HasPrefix(s, p) {
						bad = append(bad, s)
					}
				}
			}
			if len(bad) > 0 {
				t.Errorf("%s links %d relay-only symbols, e.g. %q", pkg, len(bad), bad[:min(len(bad), 8)])
			}
		})
	}
}

func symbols(t *testing.T, bin string) map[string]bool {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("open %s: %v", bin, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("symbols of %s: %v", bin, err)
	}
	out := make(map[string]bool, len(syms))
	for _, s := range syms {
		out[s.Name] = true
	}
	return out
}
