// Package awsfake is a test double for the two AWS APIs hookrelay reads
// secrets from, speaking their real wire protocol over httptest (the real
// endpoints cannot be reached here): Secrets Manager GetSecretValue and SSM
// GetParameter. Test code only.
package awsfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Server speaks the AWS JSON 1.1 protocol of Secrets Manager
// GetSecretValue and SSM GetParameter, as the real endpoints do: POST /,
// X-Amz-Target selecting the operation, a SigV4 Authorization header, JSON
// body in and out, errors as {"__type": ..., "message": ...} with 400.
type Server struct {
	t       testing.TB
	secrets map[string]string // SecretId -> SecretString
	params  map[string]string // parameter name -> value

	mu    sync.Mutex
	calls []string // "secretsmanager.GetSecretValue <id>"
}

// Start serves secrets (SecretId -> SecretString) and params (name ->
// value) until the test ends, and returns an aws.Config pointed at it.
func Start(t testing.TB, secrets, params map[string]string) (*Server, aws.Config) {
	f := &Server{t: t, secrets: secrets, params: params}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test-key", ""),
		HTTPClient:   srv.Client(),
	}
	return f, cfg
}

// Calls lists the operations served, "target id", in order.
func (f *Server) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// ServeHTTP answers one AWS JSON 1.1 call.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	service := map[string]string{"secretsmanager.GetSecretValue": "secretsmanager", "AmazonSSM.GetParameter": "ssm"}[target]
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		f.Fail(w, "UnknownOperationException", r.Method+" "+r.URL.Path)
		return
	case service == "":
		f.Fail(w, "UnknownOperationException", "target "+target)
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		f.Fail(w, "SerializationException", "content type "+r.Header.Get("Content-Type"))
		return
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/"+service+"/aws4_request"):
		f.Fail(w, "IncompleteSignatureException", "authorization "+r.Header.Get("Authorization"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.Fail(w, "SerializationException", err.Error())
		return
	}
	var in struct {
		SecretID       string `json:"SecretId"`
		Name           string `json:"Name"`
		WithDecryption bool   `json:"WithDecryption"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.Fail(w, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, target+" "+in.SecretID+in.Name)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch target {
	case "secretsmanager.GetSecretValue":
		v, ok := f.secrets[in.SecretID]
		if !ok {
			f.Fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		WriteJSON(w, map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretID,
			"Name": in.SecretID, "SecretString": v, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9})
	case "AmazonSSM.GetParameter":
		v, ok := f.params[in.Name]
		if !ok {
			f.Fail(w, "ParameterNotFound", "")
			return
		}
		if !in.WithDecryption {
			v = "ENCRYPTED"
		}
		WriteJSON(w, map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v,
			"Version": 1, "ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter" + in.Name, "DataType": "text"}})
	}
}

// Fail answers an AWS JSON error, as the real endpoints do (HTTP 400).
func (f *Server) Fail(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(http.StatusBadRequest)
	WriteJSON(w, map[string]string{"__type": code, "message": msg})
}

// WriteJSON encodes v as an AWS JSON body.
func WriteJSON(w io.Writer, v any) {
	// The test reads the response; a write error shows up there.
	_ = json.NewEncoder(w).Encode(v)
}

// Hanging never answers (until the test ends), like an AWS
// endpoint behind a black-holing network.
func Hanging(t testing.TB) string {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets net/http notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) }) // runs first: cleanups are LIFO
	return srv.URL
}
