// Package awsdefault wires the AWS SDK's full machinery into
// secrets.Resolver: the default credential chain (environment, shared
// files, SSO, web identity, ECS task role, EC2 instance profile) and the
// SDK's Secrets Manager and SSM clients with their retries and endpoint
// rules. The relay uses it; the Lambdas do not, because these packages
// would cost their zips ~1.5 MB and a Lambda's credentials are always in
// its environment (secrets.EnvAWSConfig).
package awsdefault

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookrelay/hookrelay/infra/secrets"
)

// ResolverOptions make a Resolver load the default chain on first use and
// read secrets through the SDK clients. Pass them to config.Load with
// config.WithResolverOptions.
func ResolverOptions() []secrets.ResolverOption {
	return []secrets.ResolverOption{
		secrets.WithAWSConfigLoader(func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }),
		secrets.WithAWSSecretStores(SecretStores),
	}
}

// SecretStores returns secrets.AWSSecretStores backed by the SDK's
// secretsmanager and ssm clients built from cfg.
func SecretStores(cfg aws.Config) secrets.AWSSecretStores {
	return &sdkStores{sm: secretsmanager.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg)}
}

type sdkStores struct {
	sm  *secretsmanager.Client
	ssm *ssm.Client
}

func (s *sdkStores) GetSecretValue(ctx context.Context, secretID string) (string, error) {
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", err
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

func (s *sdkStores) GetParameter(ctx context.Context, name string) (string, error) {
	out, err := s.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", nil
	}
	return *out.Parameter.Value, nil
}
