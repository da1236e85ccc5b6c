package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ElastiCache IAM auth token lifetimes. AWS documents a token as valid for
// 15 minutes; it is checked only at AUTH/HELLO, so a cached token is
// reused until it is this close to expiry.
const (
	IAMTokenTTL     = 15 * time.Minute
	IAMTokenRefresh = 10 * time.Minute // reuse a token for at most this long
)

// emptySHA256 is the hex SHA-256 of an empty payload: a presigned GET
// has no body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// IAMTokenProvider returns a credentials function for ElastiCache IAM
// authentication, in the shape of go-redis's CredentialsProviderContext:
// the user is the ElastiCache user id, the password a SigV4-presigned
// token as AWS documents it — GET https://<cluster>/?Action=connect&User=
// <user>[&ResourceType=ServerlessCache], service "elasticache",
// X-Amz-Expires=900, with the "https://" scheme removed. Tokens are cached
// and replaced after IAMTokenRefresh, well before they expire. cluster is
// the replication group id or serverless cache name (lower case, as AWS
// expects; it is lower-cased here), region the cache's region. Safe for
// concurrent use.
func IAMTokenProvider(awsCfg aws.Config, cluster, user, region string, serverless bool) func(ctx context.Context) (string, string, error) {
	p := &iamTokens{cfg: awsCfg, cluster: strings.ToLower(cluster), user: user, region: region, serverless: serverless, now: time.Now, signer: v4.NewSigner()}
	return p.credentials
}

type iamTokens struct {
	cfg        aws.Config
	cluster    string
	user       string
	region     string
	serverless bool
	now        func() time.Time
	signer     *v4.Signer

	mu       sync.Mutex
	token    string
	signedAt time.Time
}

func (p *iamTokens) credentials(ctx context.Context) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.token != "" && now.Sub(p.signedAt) < IAMTokenRefresh && !now.Before(p.signedAt) {
		return p.user, p.token, nil
	}
	token, err := p.sign(ctx, now)
	if err != nil {
		return "", "", fmt.Errorf("elasticache IAM auth token for %s: %w", p.cluster, err)
	}
	p.token, p.signedAt = token, now
	return p.user, token, nil
}

func (p *iamTokens) sign(ctx context.Context, now time.Time) (string, error) {
	if p.cluster == "" || p.user == "" || p.region == "" {
		return "", errors.New("cluster, user and region are required")
	}
	if p.cfg.Credentials == nil {
		return "", errors.New("no AWS credentials configured")
	}
	creds, err := p.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("retrieve AWS credentials: %w", err)
	}
	q := url.Values{}
	q.Set("Action", "connect")
	q.Set("User", p.user)
	if p.serverless {
		q.Set("ResourceType", "ServerlessCache")
	}
	q.Set("X-Amz-Expires", strconv.Itoa(int(IAMTokenTTL/time.Second)))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.cluster+"/", nil)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.URL.RawQuery = q.Encode()
	signed, _, err := p.signer.PresignHTTP(ctx, creds, req, emptySHA256, "elasticache", p.region, now)
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	return strings.TrimPrefix(signed, "https://"), nil
}
