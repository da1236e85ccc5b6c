package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWSSecretStores reads the two AWS secret stores behind aws-sm:// and
// aws-ssm:// references. The Resolver picks fields and checks emptiness.
type AWSSecretStores interface {
	// GetSecretValue returns a Secrets Manager secret's SecretString, or
	// its SecretBinary as a string.
	GetSecretValue(ctx context.Context, secretID string) (string, error)
	// GetParameter returns an SSM parameter's value, decrypted.
	GetParameter(ctx context.Context, name string) (string, error)
}

// NewAWSJSONStores returns AWSSecretStores that speak the two operations'
// AWS JSON 1.1 wire protocol directly (POST /, X-Amz-Target, SigV4), using
// cfg's Credentials, Region, BaseEndpoint, HTTPClient and
// RetryMaxAttempts. It is the Resolver's default: importing the SDK's
// secretsmanager and ssm packages costs a Lambda zip ~0.7 MB (their
// schema tables are built at init, and text/template in the ingest
// binary keeps every exported method of every client and error type).
// The relay wires the SDK clients instead (infra/secrets/awsdefault).
func NewAWSJSONStores(cfg aws.Config) AWSSecretStores {
	return &awsJSON{cfg: cfg, signer: v4.NewSigner(), now: time.Now}
}

type awsJSON struct {
	cfg    aws.Config
	signer *v4.Signer
	now    func() time.Time
}

// awsJSONAttempts and awsJSONBackoff mirror the SDK's standard retryer
// closely enough for a start-up read: 3 attempts, short backoff, only on
// throttling, 5xx and transport errors.
const (
	awsJSONAttempts = 3
	awsJSONBackoff  = 100 * time.Millisecond
)

func (a *awsJSON) GetSecretValue(ctx context.Context, secretID string) (string, error) {
	var out struct {
		SecretString *string
		SecretBinary []byte // base64 in JSON, as encoding/json decodes []byte
	}
	if err := a.call(ctx, "secretsmanager", "secretsmanager.GetSecretValue", map[string]any{"SecretId": secretID}, &out); err != nil {
		return "", err
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

func (a *awsJSON) GetParameter(ctx context.Context, name string) (string, error) {
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := a.call(ctx, "ssm", "AmazonSSM.GetParameter", map[string]any{"Name": name, "WithDecryption": true}, &out); err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", nil
	}
	return *out.Parameter.Value, nil
}

// awsJSONError is an error answer: {"__type": "...#Code", "message": ...}.
type awsJSONError struct {
	op, code, message string
	status            int
}

func (e *awsJSONError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d: %s", e.op, e.status, e.code)
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

func (e *awsJSONError) retryable() bool {
	return e.status >= 500 || e.status == http.StatusTooManyRequests ||
		strings.Contains(e.code, "Throttl") || e.code == "TooManyUpdates"
}

func (a *awsJSON) call(ctx context.Context, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", target, err)
	}
	attempts := a.cfg.RetryMaxAttempts
	if attempts <= 0 {
		attempts = awsJSONAttempts
	}
	for i := 1; ; i++ {
		err = a.once(ctx, service, target, body, out)
		var apiErr *awsJSONError
		retry := err != nil && ctx.Err() == nil && (!errors.As(err, &apiErr) || apiErr.retryable())
		if !retry || i >= attempts {
			return err
		}
		t := time.NewTimer(awsJSONBackoff << (i - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (a *awsJSON) once(ctx context.Context, service, target string, body []byte, out any) error {
	if a.cfg.Credentials == nil {
		return fmt.Errorf("%s: no AWS credentials configured", target)
	}
	if a.cfg.Region == "" {
		return fmt.Errorf("%s: no AWS region configured (AWS_REGION)", target)
	}
	creds, err := a.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%s: retrieve AWS credentials: %w", target, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint(service), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request: %w", target, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	if err := a.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, a.cfg.Region, a.now()); err != nil {
		return fmt.Errorf("%s: sign: %w", target, err)
	}
	var client aws.HTTPClient = http.DefaultClient
	if a.cfg.HTTPClient != nil {
		client = a.cfg.HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return parseAWSJSONError(target, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", target, err)
	}
	return nil
}

// parseAWSJSONError reads an error answer: {"__type": ..., "message": ...}
// (or "Message"), the code also in the X-Amzn-Errortype header. A body
// that is not JSON still yields the status and the header's code.
func parseAWSJSONError(op string, status int, errType string, body []byte) *awsJSONError {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if json.Unmarshal(body, &e) != nil {
		e.Type, e.Message, e.Message2 = "", "", ""
	}
	code := e.Type
	if code == "" {
		code = errType
	}
	// "com.amazonaws.secretsmanager#ResourceNotFoundException" and
	// "ResourceNotFoundException:http://internal.amazon.com/..." both
	// name the code.
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	code, _, _ = strings.Cut(code, ":")
	msg := e.Message
	if msg == "" {
		msg = e.Message2
	}
	return &awsJSONError{op: op, code: code, message: msg, status: status}
}

// endpoint is cfg.BaseEndpoint, else the service's regional endpoint.
func (a *awsJSON) endpoint(service string) string {
	if a.cfg.BaseEndpoint != nil && *a.cfg.BaseEndpoint != "" {
		return strings.TrimSuffix(*a.cfg.BaseEndpoint, "/") + "/"
	}
	suffix := "amazonaws.com"
	if strings.HasPrefix(a.cfg.Region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + service + "." + a.cfg.Region + "." + suffix + "/"
}
