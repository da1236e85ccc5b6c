package awsdefault_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hookrelay/hookrelay/infra/secrets"
	"github.com/hookrelay/hookrelay/infra/secrets/awsdefault"
)

// fakeAWS answers Secrets Manager GetSecretValue and SSM GetParameter in
// the AWS JSON 1.1 protocol the SDK clients speak.
func fakeAWS(t *testing.T) aws.Config {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId, Name string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("request body: %v", err)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
			t.Errorf("unsigned request: %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		var out any
		switch target := r.Header.Get("X-Amz-Target"); {
		case target == "secretsmanager.GetSecretValue" && in.SecretId == "app":
			out = map[string]any{"Name": "app", "SecretString": `{"token_key":"tk"}`}
		case target == "AmazonSSM.GetParameter" && in.Name == "/app/redis":
			out = map[string]any{"Parameter": map[string]any{"Name": in.Name, "Value": "redis://cache:6379"}}
		default:
			w.WriteHeader(http.StatusBadRequest)
			out = map[string]string{"__type": "ResourceNotFoundException", "message": target + " " + in.SecretId + in.Name}
		}
		if err := json.NewEncoder(w).Encode(out); err != nil {
			t.Errorf("answer: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return aws.Config{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test-key", ""),
	}
}

func TestResolverWithSDKClients(t *testing.T) {
	cfg := fakeAWS(t)
	// WithAWSConfig after the defaults replaces only the loader: the
	// stores stay the SDK clients.
	r := secrets.NewResolver(nil, append(awsdefault.ResolverOptions(), secrets.WithAWSConfig(cfg))...)
	ctx := context.Background()
	for ref, want := range map[string]string{"aws-sm://app#token_key": "tk", "aws-ssm:///app/redis": "redis://cache:6379"} {
		if got, err := r.Resolve(ctx, ref); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	_, err := r.Resolve(ctx, "aws-sm://gone")
	if err == nil || !strings.Contains(err.Error(), "aws-sm://gone") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing secret: %v", err)
	}
}

// The default chain is loaded on first use: with only environment
// credentials it yields them, as secrets.EnvAWSConfig does in a Lambda.
func TestResolverOptionsLoadDefaultChain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sk")
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	r := secrets.NewResolver(nil, awsdefault.ResolverOptions()...)
	cfg, err := r.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDENV" || cfg.Region != "eu-central-1" {
		t.Errorf("region %q credentials %+v, %v", cfg.Region, creds, err)
	}
}
