package config

import (
	"context"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/secrets"
	"github.com/hookrelay/hookrelay/infra/secrets/awsfake"
)

func TestRedisCredentialsProvider(t *testing.T) {
	_, awsCfg := awsfake.Start(t, nil, nil)
	c := mustLoad(t, ModeDev, []string{"--redis-iam-auth", "--redis-iam-cluster=HookRelay", "--redis-iam-user=relay", "--redis-iam-serverless"},
		map[string]string{"REDIS_URL": "rediss://hookrelay-xyz.serverless.euw1.cache.amazonaws.com:6379", "AWS_REGION": "eu-west-1"},
		WithResolverOptions(secrets.WithAWSConfig(awsCfg)))
	get, err := c.RedisCredentialsProvider(context.Background())
	if err != nil || get == nil {
		t.Fatalf("provider %v", err)
	}
	user, token, err := get(context.Background())
	if err != nil || user != "relay" || !strings.HasPrefix(token, "hookrelay/?Action=connect&ResourceType=ServerlessCache&User=relay&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDTEST%2F") {
		t.Fatalf("credentials %q %q %v", user, token, err)
	}
	off := mustLoad(t, ModeDev, nil, nil)
	if get, err := off.RedisCredentialsProvider(context.Background()); get != nil || err != nil {
		t.Fatalf("IAM off: %v %v", get != nil, err)
	}
}
