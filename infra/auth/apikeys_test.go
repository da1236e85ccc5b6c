package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	k, err := NewAPIKeys([]APIKey{{Name: "ci", Key: "ci-secret-0123456789"}, {Name: "shop", Key: "shop-secret-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, auth, xkey, want string
	}{
		{"bearer", "Bearer ci-secret-0123456789", "", "ci"},
		{"bearer lower-case scheme", "bearer shop-secret-0123456789", "", "shop"},
		{"x-api-key", "", "shop-secret-0123456789", "shop"},
		{"wrong bearer, good x-api-key", "Bearer a.jwt.token", "ci-secret-0123456789", "ci"},
		{"wrong", "Bearer ci-secret-012345678", "", ""},
		{"prefix of a key", "", "ci-secret", ""},
		{"key plus suffix", "", "ci-secret-0123456789x", ""},
		{"basic scheme", "Basic ci-secret-0123456789", "", ""},
		{"none", "", "", ""},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("POST", "/v1/publish", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if tc.xkey != "" {
			r.Header.Set("X-API-Key", tc.xkey)
		}
		name, ok := k.Check(r)
		if name != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: got %q,%v want %q", tc.name, name, ok, tc.want)
		}
		g, err := k.Authenticate(context.Background(), r)
		if tc.want != "" {
			if err != nil || g.Subject != APIKeySubjectPrefix+tc.want || !g.CanPublish("any:topic") || g.CanSubscribe("any:topic") {
				t.Errorf("%s: grants %+v %v", tc.name, g, err)
			}
		} else if err == nil {
			t.Errorf("%s: authenticated", tc.name)
		}
	}

	r := httptest.NewRequest("POST", "/v1/publish", nil)
	if _, err := k.Authenticate(context.Background(), r); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("no key: %v", err)
	}
	r.Header.Set("X-API-Key", "wrong")
	if _, err := k.Authenticate(context.Background(), r); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("wrong key: %v", err)
	}

	empty, err := NewAPIKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-API-Key", "")
	if _, ok := empty.Check(r); ok || empty.Len() != 0 {
		t.Error("empty key set accepted an empty key")
	}
	var nilKeys *APIKeys
	if _, ok := nilKeys.Check(r); ok {
		t.Error("nil APIKeys accepted")
	}

	for name, keys := range map[string][]APIKey{
		"empty name":     {{Name: "", Key: "k"}},
		"empty key":      {{Name: "a", Key: ""}},
		"duplicate name": {{Name: "a", Key: "k1"}, {Name: "a", Key: "k2"}},
		"duplicate key":  {{Name: "a", Key: "k"}, {Name: "b", Key: "k"}},
	} {
		if _, err := NewAPIKeys(keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkAPIKeysCheck(b *testing.B) {
	keys := make([]APIKey, 10)
	for i := range keys {
		keys[i] = APIKey{Name: string(rune('a' + i)), Key: "key-0123456789-" + string(rune('a'+i))}
	}
	k, err := NewAPIKeys(keys)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/v1/publish", nil)
	r.Header.Set("X-API-Key", "key-0123456789-j")
	for b.Loop() {
		if _, ok := k.Check(r); !ok {
			b.Fatal("no match")
		}
	}
}
