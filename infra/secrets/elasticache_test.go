package secrets

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fixedClock is a settable clock for the token cache.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fixedClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testTokens(serverless bool, session string, clock *fixedClock) *iamTokens {
	cfg := aws.Config{Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", session)}
	return &iamTokens{cfg: cfg, cluster: "hookrelay-cache", user: "relay-user", region: "eu-west-1",
		serverless: serverless, now: clock.Now, signer: v4.NewSigner()}
}

// TestIAMTokenShape checks the token against an independent SigV4
// computation (the documented algorithm, written out with crypto/hmac).
func TestIAMTokenShape(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		serverless bool
		session    string
	}{{"replication group", false, ""}, {"serverless", true, ""}, {"session token", false, "FwoGZXIvYXdzEXAMPLE"}} {
		t.Run(tc.name, func(t *testing.T) {
			p := testTokens(tc.serverless, tc.session, &fixedClock{t: at})
			user, token, err := p.credentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if user != "relay-user" {
				t.Errorf("user %q", user)
			}
			if strings.Contains(token, "://") || !strings.HasPrefix(token, "hookrelay-cache/?") {
				t.Fatalf("token %q: want hookrelay-cache/?… without scheme", token)
			}
			u, err := url.Parse("https://" + token)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			want := map[string]string{
				"Action":              "connect",
				"User":                "relay-user",
				"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
				"X-Amz-Credential":    "AKIDEXAMPLE/20261123/eu-west-1/elasticache/aws4_request",
				"X-Amz-Date":          "20261123T093000Z",
				"X-Amz-Expires":       "900",
				"X-Amz-SignedHeaders": "host",
			}
			if tc.serverless {
				want["ResourceType"] = "ServerlessCache"
			}
			if tc.session != "" {
				want["X-Amz-Security-Token"] = tc.session
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if len(q) != len(want)+1 {
				t.Errorf("query has %d params, want %d: %v", len(q), len(want)+1, q)
			}
			sig := q.Get("X-Amz-Signature")
			q.Del("X-Amz-Signature")
			if exp := sigV4Presign("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "hookrelay-cache", q, at, "eu-west-1", "elasticache"); sig != exp {
				t.Errorf("signature %s, want %s", sig, exp)
			}
		})
	}
}

// sigV4Presign computes a query-string SigV4 signature for GET / as AWS's
// Signature Version 4 documentation describes it.
func sigV4Presign(secret, host string, q url.Values, at time.Time, region, service string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, awsEscape(k)+"="+awsEscape(q.Get(k)))
	}
	canonical := strings.Join([]string{"GET", "/", strings.Join(parts, "&"), "host:" + host + "\n", "host", emptySHA256}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	date := at.Format("20060102")
	scope := date + "/" + region + "/" + service + "/aws4_request"
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", at.Format("20060102T150405Z"), scope, hex.EncodeToString(sum[:])}, "\n")
	key := []byte("AWS4" + secret)
	for _, part := range []string{date, region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// awsEscape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~
// percent-encoded with upper-case hex.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

func TestIAMTokenCache(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	p := testTokens(false, "", clock)
	ctx := context.Background()
	_, first, err := p.credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(IAMTokenRefresh - time.Second)
	if _, again, _ := p.credentials(ctx); again != first {
		t.Error("token re-signed before the refresh interval")
	}
	clock.Add(time.Second)
	_, fresh, err := p.credentials(ctx)
	if err != nil || fresh == first {
		t.Errorf("token not refreshed after %v: %v", IAMTokenRefresh, err)
	}
	if !strings.Contains(fresh, "X-Amz-Date=20261123T091000Z") {
		t.Errorf("fresh token %q not signed at the new time", fresh)
	}
	if IAMTokenRefresh >= IAMTokenTTL {
		t.Error("refresh must come before expiry")
	}
}

func TestIAMTokenProviderErrors(t *testing.T) {
	get := IAMTokenProvider(aws.Config{}, "c", "u", "eu-west-1", false)
	if _, _, err := get(context.Background()); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("no credentials: %v", err)
	}
	cfg := aws.Config{Credentials: credentials.NewStaticCredentialsProvider("A", "B", "")}
	if _, _, err := IAMTokenProvider(cfg, "c", "u", "", false)(context.Background()); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("no region: %v", err)
	}
	user, token, err := IAMTokenProvider(cfg, "c", "u", "us-east-1", true)(context.Background())
	if err != nil || user != "u" || !strings.Contains(token, "ResourceType=ServerlessCache") {
		t.Errorf("public constructor: %q %q %v", user, token, err)
	}
}
