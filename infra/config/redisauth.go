package config

import (
	"context"
	"fmt"

	"github.com/hookrelay/hookrelay/infra/secrets"
)

// RedisCredentialsProvider returns the go-redis CredentialsProviderContext
// for the configured ElastiCache IAM auth, signing with the secrets.Resolver's AWS
// configuration (default chain: task role, instance profile, env), or nil
// when HOOKRELAY_REDIS_IAM_AUTH is off.
func (c *Config) RedisCredentialsProvider(ctx context.Context) (func(context.Context) (string, string, error), error) {
	if !c.RedisIAMAuth {
		return nil, nil
	}
	awsCfg, err := c.Secrets().AWSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Key("redis_iam_auth"), err)
	}
	return secrets.IAMTokenProvider(awsCfg, c.RedisIAMCluster, c.RedisIAMUser, c.RedisIAMRegion, c.RedisIAMServerless), nil
}
