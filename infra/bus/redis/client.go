package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// newClient builds the go-redis client for o: one server, or a cluster.
func newClient(o Options) (goredis.UniversalClient, error) {
	if o.Cluster {
		co, err := goredis.ParseClusterURL(o.URL)
		if err != nil {
			return nil, badURL(err)
		}
		applyCommon(o, &co.Username, &co.Password, &co.TLSConfig, &co.CredentialsProviderContext)
		co.DialTimeout, co.ReadTimeout, co.WriteTimeout = o.DialTimeout, o.ReadTimeout, o.WriteTimeout
		co.PoolTimeout = o.poolTimeout()
		co.ContextTimeoutEnabled = true
		co.MaxRetries = -1 // as below; MOVED/ASK redirects are still followed: nothing ran
		co.DialerRetries = 1
		if o.PoolSize > 0 {
			co.PoolSize = o.PoolSize
		}
		return goredis.NewClusterClient(co), nil
	}
	ro, err := goredis.ParseURL(o.URL)
	if err != nil {
		return nil, badURL(err)
	}
	applyCommon(o, &ro.Username, &ro.Password, &ro.TLSConfig, &ro.CredentialsProviderContext)
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = o.DialTimeout, o.ReadTimeout, o.WriteTimeout
	ro.PoolTimeout = o.poolTimeout()
	ro.ContextTimeoutEnabled = true
	// No automatic retries: a publish script whose reply was lost may have
	// run, and running it again would publish twice. Callers retry with
	// their idempotency key instead.
	ro.MaxRetries = -1
	// One dial attempt: go-redis's default of five multiplies a dead
	// server's dial timeout by five before anyone hears about it.
	ro.DialerRetries = 1
	if o.PoolSize > 0 {
		ro.PoolSize = o.PoolSize
	}
	return goredis.NewClient(ro), nil
}

// applyCommon lets Options override what the URL says.
func applyCommon(o Options, user, pass *string, tlsConf **tls.Config, creds *func(context.Context) (string, string, error)) {
	if o.Username != "" {
		*user = o.Username
	}
	if o.Password != "" {
		*pass = o.Password
	}
	if o.TLSConfig != nil {
		*tlsConf = o.TLSConfig
	}
	if o.CredentialsProvider != nil {
		*creds = o.CredentialsProvider
	}
}

// badURL reports an unusable URL. url.Error repeats the whole URL, password
// included: keep only what is wrong with it.
func badURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("redis bus: parse URL: %w: %v", bus.ErrInvalid, err)
}
