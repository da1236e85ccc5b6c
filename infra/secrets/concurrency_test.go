package secrets

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/secrets/awsfake"
)

// TestConcurrentUse: the Resolver and the IAM token provider are shared
// by goroutines (webhook sources, go-redis connection pool); run with -race.
func TestConcurrentUse(t *testing.T) {
	fake, awsCfg := awsfake.Start(t, map[string]string{"s": "v"}, map[string]string{"/p": "w"})
	r := NewResolver(nil, WithAWSConfig(awsCfg))
	tokens := testTokens(false, "", &fixedClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ref := range []string{"aws-sm://s", "aws-ssm:///p"} {
				if _, err := r.Resolve(context.Background(), ref); err != nil {
					errs <- err
				}
			}
			if _, _, err := tokens.credentials(context.Background()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls := fake.Calls(); len(calls) != 2 {
		t.Errorf("AWS called %d times for 2 references: %q", len(calls), calls)
	}
}
