// Package secrets resolves the secret references settings may hold
// (env:NAME, file:PATH, aws-sm://id#key, aws-ssm:///name) and holds the AWS
// pieces that needs: a small signed JSON client for Secrets Manager and SSM
// (what the Lambdas link), the Lambda environment's credentials, and the
// ElastiCache IAM token signer. The SDK-based stores the relay uses are in
// awsdefault. infra/config only calls Resolve.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/singleflight"
)

// RefKind says where a secret reference points.
type RefKind int

const (
	RefLiteral        RefKind = iota // the value itself (dev)
	RefEnv                           // env:NAME
	RefFile                          // file:/path
	RefSecretsManager                // aws-sm://secret-id[#json-key]
	RefSSM                           // aws-ssm:///param/path
)

// Ref is a parsed secret reference.
type Ref struct {
	Kind RefKind
	// Name is the variable, path, secret id (name or ARN) or parameter name.
	// For a literal it is the value itself.
	Name string
	// Key picks one field of a Secrets Manager JSON secret ("" = all).
	Key string
}

// String returns the reference in its written form. A literal is redacted:
// it is the secret itself.
func (r Ref) String() string {
	switch r.Kind {
	case RefEnv:
		return "env:" + r.Name
	case RefFile:
		if strings.HasPrefix(r.Name, "//") {
			return "file://" + r.Name // so it parses back to the same path
		}
		return "file:" + r.Name
	case RefSecretsManager:
		if r.Key != "" {
			return "aws-sm://" + r.Name + "#" + r.Key
		}
		return "aws-sm://" + r.Name
	case RefSSM:
		return "aws-ssm://" + r.Name
	}
	return "(literal)"
}

// ParseRef parses a secret reference. Anything without a known prefix is a
// literal; an unknown aws-… scheme is an error rather than a literal, so a
// typo never ends up used as the secret.
func ParseRef(s string) (Ref, error) {
	switch {
	case strings.HasPrefix(s, "env:"):
		name := s[len("env:"):]
		if !validEnvName(name) {
			return Ref{}, fmt.Errorf("secret reference env:%s: not a variable name", name)
		}
		return Ref{Kind: RefEnv, Name: name}, nil
	case strings.HasPrefix(s, "file:"):
		path := s[len("file:"):]
		if rest, ok := strings.CutPrefix(path, "//"); ok {
			// URL form file:///etc/x; file://x would name a host.
			if !strings.HasPrefix(rest, "/") {
				return Ref{}, errors.New("secret reference file://: want file:///absolute/path or file:path")
			}
			path = rest
		}
		if path == "" {
			return Ref{}, errors.New("secret reference file: needs a path")
		}
		return Ref{Kind: RefFile, Name: path}, nil
	case strings.HasPrefix(s, "aws-sm://"):
		id, key, hasKey := strings.Cut(s[len("aws-sm://"):], "#")
		if id == "" || (hasKey && key == "") {
			return Ref{}, errors.New("secret reference aws-sm://: want aws-sm://secret-id or aws-sm://secret-id#json-key")
		}
		return Ref{Kind: RefSecretsManager, Name: id, Key: key}, nil
	case strings.HasPrefix(s, "aws-ssm://"):
		name := s[len("aws-ssm://"):]
		if name == "" || name == "/" {
			return Ref{}, errors.New("secret reference aws-ssm://: want aws-ssm:///parameter/path")
		}
		return Ref{Kind: RefSSM, Name: name}, nil
	case strings.HasPrefix(s, "aws-") && strings.Contains(s, "://"):
		scheme, _, _ := strings.Cut(s, "://")
		return Ref{}, fmt.Errorf("secret reference: unknown scheme %q (want aws-sm:// or aws-ssm://)", scheme)
	}
	return Ref{Kind: RefLiteral, Name: s}, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// Resolver turns secret references into values, once each: results are
// cached for the life of the Resolver. The AWS configuration and clients
// are created on the first aws-sm:// or aws-ssm:// reference, so dev never
// needs credentials. Safe for concurrent use.
//
// How AWS is reached is injected, so a binary links only what it uses:
// by default credentials and region come from the environment
// (EnvAWSConfig: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION, as Lambda sets them) and the stores are
// NewAWSJSONStores; the relay passes infra/secrets/awsdefault's options
// (the SDK's default credential chain and service clients).
type Resolver struct {
	getenv    func(string) string
	readFile  func(string) ([]byte, error)
	loadAWS   func(context.Context) (aws.Config, error)
	newStores func(aws.Config) AWSSecretStores
	awsMu     sync.Mutex
	awsCfg    *aws.Config
	stores    AWSSecretStores

	group singleflight.Group
	mu    sync.Mutex
	cache map[string]string
}

// ResolverOption customises a Resolver (tests, Lambda wiring).
type ResolverOption func(*Resolver)

// WithAWSConfig makes the Resolver use cfg for AWS calls instead of
// loading one (cfg.BaseEndpoint points the clients at a test server).
func WithAWSConfig(cfg aws.Config) ResolverOption {
	return func(r *Resolver) {
		r.loadAWS = func(context.Context) (aws.Config, error) { return cfg, nil }
	}
}

// WithAWSConfigLoader makes the Resolver load its AWS configuration with
// load, on first use (awsdefault: the SDK's default chain).
func WithAWSConfigLoader(load func(context.Context) (aws.Config, error)) ResolverOption {
	return func(r *Resolver) { r.loadAWS = load }
}

// WithAWSSecretStores makes the Resolver read aws-sm:// and aws-ssm://
// references through the stores newStores builds from its AWS
// configuration (awsdefault: the SDK's service clients).
func WithAWSSecretStores(newStores func(aws.Config) AWSSecretStores) ResolverOption {
	return func(r *Resolver) { r.newStores = newStores }
}

// WithReadFile replaces os.ReadFile for file: references.
func WithReadFile(fn func(string) ([]byte, error)) ResolverOption {
	return func(r *Resolver) { r.readFile = fn }
}

// NewResolver returns a Resolver that reads env: references through getenv
// (nil: no variable is set) and, unless options say otherwise, AWS
// credentials and region from the same variables (EnvAWSConfig) and the
// stores through NewAWSJSONStores.
func NewResolver(getenv func(string) string, opts ...ResolverOption) *Resolver {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	r := &Resolver{
		getenv:    getenv,
		readFile:  os.ReadFile,
		loadAWS:   func(context.Context) (aws.Config, error) { return EnvAWSConfig(getenv) },
		newStores: NewAWSJSONStores,
		cache:     make(map[string]string),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Resolve returns the value s refers to (s itself for a literal). Errors
// name the reference and never contain the secret.
func (r *Resolver) Resolve(ctx context.Context, s string) (string, error) {
	ref, err := ParseRef(s)
	if err != nil {
		return "", err
	}
	if ref.Kind == RefLiteral {
		return s, nil
	}
	r.mu.Lock()
	v, ok := r.cache[s]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	// Concurrent callers of the same reference share one fetch, so a
	// secret is read from AWS once even when sources resolve in parallel.
	res, err, _ := r.group.Do(s, func() (any, error) {
		v, err := r.fetch(ctx, ref)
		if err != nil {
			return "", err
		}
		r.mu.Lock()
		r.cache[s] = v
		r.mu.Unlock()
		return v, nil
	})
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	return res.(string), nil
}

func (r *Resolver) fetch(ctx context.Context, ref Ref) (string, error) {
	switch ref.Kind {
	case RefEnv:
		v := r.getenv(ref.Name)
		if v == "" {
			return "", errors.New("variable is unset or empty")
		}
		return v, nil
	case RefFile:
		b, err := r.readFile(ref.Name)
		if err != nil {
			return "", err
		}
		// Secret files (Kubernetes, Docker, echo > file) end in a newline
		// that is never part of the key.
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", errors.New("file is empty")
		}
		return v, nil
	case RefSecretsManager:
		return r.fetchSecretsManager(ctx, ref)
	case RefSSM:
		return r.fetchSSM(ctx, ref)
	}
	return "", fmt.Errorf("unknown reference kind %d", ref.Kind)
}

// AWSConfig returns the AWS configuration the Resolver uses, loading it on
// first use. The ElastiCache IAM token signer shares it.
func (r *Resolver) AWSConfig(ctx context.Context) (aws.Config, error) {
	r.awsMu.Lock()
	defer r.awsMu.Unlock()
	if r.awsCfg != nil {
		return *r.awsCfg, nil
	}
	cfg, err := r.loadAWS(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	r.awsCfg = &cfg
	return cfg, nil
}

func (r *Resolver) secretStores(ctx context.Context) (AWSSecretStores, error) {
	cfg, err := r.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	r.awsMu.Lock()
	defer r.awsMu.Unlock()
	if r.stores == nil {
		r.stores = r.newStores(cfg)
	}
	return r.stores, nil
}

func (r *Resolver) fetchSecretsManager(ctx context.Context, ref Ref) (string, error) {
	stores, err := r.secretStores(ctx)
	if err != nil {
		return "", err
	}
	secret, err := stores.GetSecretValue(ctx, ref.Name)
	if err != nil {
		return "", err
	}
	if ref.Key == "" {
		if secret == "" {
			return "", errors.New("secret is empty")
		}
		return secret, nil
	}
	return jsonField(secret, ref.Key)
}

// jsonField picks key out of a JSON object secret (the console's key/value
// form). Its errors never quote the secret.
func jsonField(secret, key string) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(secret), &fields); err != nil {
		return "", fmt.Errorf("secret is not a JSON object, cannot pick key %q", key)
	}
	raw, ok := fields[key]
	if !ok {
		return "", fmt.Errorf("secret has no key %q", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return "", fmt.Errorf("secret key %q is empty", key)
		}
		return s, nil
	}
	// Numbers and booleans are used as written.
	return string(raw), nil
}

func (r *Resolver) fetchSSM(ctx context.Context, ref Ref) (string, error) {
	stores, err := r.secretStores(ctx)
	if err != nil {
		return "", err
	}
	v, err := stores.GetParameter(ctx, ref.Name)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", errors.New("parameter is empty")
	}
	return v, nil
}
