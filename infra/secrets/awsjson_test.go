package secrets

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hookrelay/hookrelay/infra/secrets/awsfake"
)

// The default Resolver (no AWS options) takes credentials, region and
// endpoint from the environment, as the Lambdas run it.
func TestResolverDefaultsToEnvAWS(t *testing.T) {
	fake, awsCfg := awsfake.Start(t, map[string]string{"s": "from-sm"}, map[string]string{"/p": "from-ssm"})
	env := envMap(map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret-test-key", "AWS_SESSION_TOKEN": "tok",
		"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": *awsCfg.BaseEndpoint,
	})
	r := NewResolver(env)
	for ref, want := range map[string]string{"aws-sm://s": "from-sm", "aws-ssm:///p": "from-ssm"} {
		if got, err := r.Resolve(context.Background(), ref); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("calls %q", fake.Calls())
	}
}

func TestEnvAWSConfig(t *testing.T) {
	cfg, err := EnvAWSConfig(envMap(map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "sk",
		"AWS_SESSION_TOKEN": "st", "AWS_DEFAULT_REGION": "us-east-2"}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "sk" || creds.SessionToken != "st" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	if cfg.Region != "us-east-2" || cfg.BaseEndpoint != nil {
		t.Errorf("region %q endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	cfg, err = EnvAWSConfig(envMap(map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}))
	if err != nil || cfg.Region != "eu-west-1" || cfg.Credentials != nil {
		t.Errorf("no credentials: %+v, %v", cfg, err)
	}
	if _, err := EnvAWSConfig(envMap(map[string]string{"AWS_ACCESS_KEY_ID": "AKID"})); err == nil {
		t.Error("a key id without its secret was accepted")
	}
	// No credentials: the first AWS call says so, naming the reference.
	_, err = NewResolver(envMap(map[string]string{"AWS_REGION": "eu-west-1"})).Resolve(context.Background(), "aws-sm://x")
	if err == nil || !strings.Contains(err.Error(), "aws-sm://x") || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("err %v", err)
	}
}

func TestAWSJSONBinarySecret(t *testing.T) {
	_, awsCfg := awsfake.Start(t, nil, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		awsfake.WriteJSON(w, map[string]any{"Name": "b", "SecretBinary": base64.StdEncoding.EncodeToString([]byte("bin-secret"))})
	}))
	t.Cleanup(srv.Close)
	awsCfg.BaseEndpoint = aws.String(srv.URL)
	got, err := NewAWSJSONStores(awsCfg).GetSecretValue(context.Background(), "b")
	if err != nil || got != "bin-secret" {
		t.Errorf("got %q, %v", got, err)
	}
}

// Throttling and 5xx answers are retried (RetryMaxAttempts, default 3);
// other errors are final at once.
func TestAWSJSONRetry(t *testing.T) {
	fake, awsCfg := awsfake.Start(t, map[string]string{"s": "v"}, nil)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			fake.Fail(w, "ThrottlingException", "Rate exceeded")
		default:
			fake.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	awsCfg.BaseEndpoint = aws.String(srv.URL)
	s := NewAWSJSONStores(awsCfg)
	if got, err := s.GetSecretValue(context.Background(), "s"); err != nil || got != "v" || n.Load() != 3 {
		t.Errorf("got %q, %v after %d attempts", got, err, n.Load())
	}
	n.Store(2) // next answers come from the fake: a final 400
	_, err := s.GetSecretValue(context.Background(), "missing")
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || n.Load() != 3 {
		t.Errorf("err %v after %d attempts, want one ResourceNotFoundException", err, n.Load()-2)
	}
	n.Store(0)
	awsCfg.RetryMaxAttempts = 1
	if _, err := NewAWSJSONStores(awsCfg).GetSecretValue(context.Background(), "s"); err == nil || !strings.Contains(err.Error(), "HTTP 503") || n.Load() != 1 {
		t.Errorf("err %v after %d attempts, want one HTTP 503", err, n.Load())
	}
}

func TestAWSJSONEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1":      "https://ssm.eu-west-1.amazonaws.com/",
		"cn-northwest-1": "https://ssm.cn-northwest-1.amazonaws.com.cn/",
	} {
		a := &awsJSON{cfg: aws.Config{Region: region}}
		if got := a.endpoint("ssm"); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
}

func TestParseAWSJSONError(t *testing.T) {
	for _, c := range []struct {
		body, header, code, msg string
	}{
		{`{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"gone"}`, "", "ResourceNotFoundException", "gone"},
		{`{"__type":"ParameterNotFound"}`, "", "ParameterNotFound", ""},
		{`{"Message":"User is not authorized"}`, "AccessDeniedException:http://internal.amazon.com/coral/", "AccessDeniedException", "User is not authorized"},
		{`<html>bad gateway</html>`, "", "", ""},
	} {
		e := parseAWSJSONError("op", 400, c.header, []byte(c.body))
		if e.code != c.code || e.message != c.msg || e.status != 400 {
			t.Errorf("%s %q: code %q message %q", c.body, c.header, e.code, e.message)
		}
	}
}

// FuzzParseAWSJSONError: any answer yields an error whose code is a bare
// name (no namespace, no URL) and whose text names the operation.
func FuzzParseAWSJSONError(f *testing.F) {
	f.Add(400, "", []byte(`{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"x"}`))
	f.Add(500, "ThrottlingException:http://x", []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, header string, body []byte) {
		e := parseAWSJSONError("AmazonSSM.GetParameter", status, header, body)
		if strings.ContainsAny(e.code, "#:") {
			t.Errorf("code %q", e.code)
		}
		if !strings.HasPrefix(e.Error(), "AmazonSSM.GetParameter: ") {
			t.Errorf("error %q", e.Error())
		}
	})
}
