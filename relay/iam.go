package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/hookrelay/hookrelay/infra/config"
)

// ElastiCache IAM auth tokens: a SigV4-presigned "connect" request for the
// cache and user, valid 15 minutes, sent as the AUTH password. go-redis asks
// for credentials at every new connection, and the Redis bus replaces its
// long-lived pub/sub connection before the 12 h IAM connection limit.
const (
	iamTokenTTL = 15 * time.Minute
	// emptyPayloadHash is the SHA-256 of an empty body, which the presigned
	// GET signs.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// iamCredentials returns a go-redis credentials provider minting a fresh
// ElastiCache IAM token for every connection.
func iamCredentials(ctx context.Context, cfg *config.Config) (func(context.Context) (string, string, error), error) {
	awsCfg, err := cfg.Secrets().AWSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Credentials == nil {
		return nil, fmt.Errorf("no AWS credentials found (task role, environment or profile)")
	}
	signer := v4.NewSigner()
	user, cache, region, serverless := cfg.RedisIAMUser, cfg.RedisIAMCluster, cfg.RedisIAMRegion, cfg.RedisIAMServerless
	return func(ctx context.Context) (string, string, error) {
		creds, err := awsCfg.Credentials.Retrieve(ctx)
		if err != nil {
			return "", "", fmt.Errorf("elasticache iam token: AWS credentials: %w", err)
		}
		tok, err := elastiCacheToken(ctx, signer, creds, user, cache, region, serverless, time.Now())
		if err != nil {
			return "", "", err
		}
		return user, tok, nil
	}, nil
}

// elastiCacheToken presigns GET http://<cache>/?Action=connect&User=<user>
// (+ ResourceType=ServerlessCache) for service "elasticache" and returns it
// without the scheme, as AWS documents.
func elastiCacheToken(ctx context.Context, s *v4.Signer, creds aws.Credentials, user, cache, region string, serverless bool, now time.Time) (string, error) {
	q := url.Values{"Action": {"connect"}, "User": {user}, "X-Amz-Expires": {fmt.Sprint(int(iamTokenTTL.Seconds()))}}
	if serverless {
		q.Set("ResourceType", "ServerlessCache")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cache+"/?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("elasticache iam token: %w", err)
	}
	signed, _, err := s.PresignHTTP(ctx, creds, req, emptyPayloadHash, "elasticache", region, now.UTC())
	if err != nil {
		return "", fmt.Errorf("elasticache iam token: presign: %w", err)
	}
	return strings.TrimPrefix(signed, "http://"), nil
}
