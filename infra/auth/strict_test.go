package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// signRaw signs arbitrary header and claims bytes with HS256, so tests can
// write JSON that no JWT library would produce (duplicate members, string
// dates).
func signRaw(key string, header, payload []byte) string {
	in := b64(header) + "." + b64(payload)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

const hs256Header = `{"alg":"HS256","typ":"JWT"}`

// TestStrictClaims guards I2 of the 2026-12 review: leniencies of the JWT
// decoder behind a valid signature are refusals.
func TestStrictClaims(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	exp := testNow.Add(time.Minute).Unix()
	cases := []struct {
		name, header, claims string
		ok                   bool
	}{
		{"plain", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d}`, exp), true},
		{"iat and nbf numbers", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"iat":%d,"nbf":%d}`, exp, exp-60, exp-60), true},
		{"exp as a string", hs256Header, fmt.Sprintf(`{"sub":"42","exp":"%d"}`, exp), false},
		{"nbf as a string", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"nbf":"%d"}`, exp, exp-60), false},
		{"iat as a string", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"iat":"%d"}`, exp, exp-60), false},
		{"EXP as a string", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"EXP":"%d"}`, exp, exp), false},
		{"duplicate sub", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"sub":"43"}`, exp), false},
		{"duplicate topics", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"topics":["a"],"topics":["*"]}`, exp), false},
		{"duplicate by case", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"SUB":"43"}`, exp), false},
		{"duplicate by unicode fold", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"ſub":"43"}`, exp), false},
		{"duplicate by escape", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"\u0073ub":"43"}`, exp), false},
		{"duplicates nested are not ours", hs256Header, fmt.Sprintf(`{"sub":"42","exp":%d,"x":{"a":1,"a":2}}`, exp), true},
		{"crit header", `{"alg":"HS256","typ":"JWT","crit":["exp"]}`, fmt.Sprintf(`{"sub":"42","exp":%d}`, exp), false},
		{"empty crit header", `{"alg":"HS256","crit":[]}`, fmt.Sprintf(`{"sub":"42","exp":%d}`, exp), false},
		{"duplicate alg header", `{"alg":"HS256","alg":"HS256"}`, fmt.Sprintf(`{"sub":"42","exp":%d}`, exp), false},
	}
	for _, tc := range cases {
		_, err := a.Verify(context.Background(), signRaw(keyA, []byte(tc.header), []byte(tc.claims)))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case !tc.ok && !errors.Is(err, ErrInvalidToken):
			t.Errorf("%s: err %v, want ErrInvalidToken", tc.name, err)
		}
	}
}

// TestMaxTokenTTL guards I3: with a maximum lifetime, exp − iat beyond it,
// a missing iat and an iat in the future are refused.
func TestMaxTokenTTL(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, MaxTTL: time.Hour, Leeway: 5 * time.Second, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	unlimited, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	now := testNow.Unix()
	year9999 := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	cases := []struct {
		name   string
		claims string
		ok     bool
	}{
		{"an hour", fmt.Sprintf(`{"sub":"42","iat":%d,"exp":%d}`, now, now+3600), true},
		{"an hour and a second", fmt.Sprintf(`{"sub":"42","iat":%d,"exp":%d}`, now, now+3601), false},
		{"year 9999", fmt.Sprintf(`{"sub":"42","iat":%d,"exp":%d}`, now, year9999), false},
		{"no iat", fmt.Sprintf(`{"sub":"42","exp":%d}`, now+60), false},
		{"iat in the future", fmt.Sprintf(`{"sub":"42","iat":%d,"exp":%d}`, year9999-60, year9999), false},
		{"iat within leeway", fmt.Sprintf(`{"sub":"42","iat":%d,"exp":%d}`, now+3, now+60), true},
	}
	for _, tc := range cases {
		tok := signRaw(keyA, []byte(hs256Header), []byte(tc.claims))
		_, err := a.Verify(context.Background(), tok)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case !tc.ok && !errors.Is(err, ErrInvalidToken):
			t.Errorf("%s: err %v, want ErrInvalidToken", tc.name, err)
		}
		// Without the setting every one of these verifies (off by default).
		if _, err := unlimited.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s without max TTL: %v", tc.name, err)
		}
	}
	if _, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, MaxTTL: -time.Second}); err == nil {
		t.Error("negative max TTL accepted")
	}
}

// FuzzClaims signs arbitrary header and claims JSON with the verifier's
// key, so the fuzzer reaches the claims decoder behind a valid signature.
// Whatever verifies must be strict JSON as checkStrict reads it: no crit,
// no duplicate top-level member, dates as numbers.
func FuzzClaims(f *testing.F) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, MaxTTL: 24 * time.Hour, Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	exp := testNow.Add(time.Minute).Unix()
	f.Add([]byte(hs256Header), []byte(fmt.Sprintf(`{"sub":"42","iat":%d,"exp":%d,"topics":["user:{sub}"]}`, exp-60, exp)))
	f.Add([]byte(hs256Header), []byte(fmt.Sprintf(`{"sub":"42","iat":%d,"exp":"%d"}`, exp-60, exp)))
	f.Fuzz(func(t *testing.T, header, claims []byte) {
		g, err := a.Verify(context.Background(), signRaw(keyA, header, claims))
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrExpired) {
				t.Fatalf("error wraps no auth sentinel: %v", err)
			}
			return
		}
		if g.Subject == "" || g.ExpiresAt.IsZero() {
			t.Fatalf("verified without sub or exp: %+v", g)
		}
		var h map[string]json.RawMessage
		if err := json.Unmarshal(header, &h); err != nil {
			t.Fatalf("verified with a header that is not an object: %v", err)
		}
		if _, ok := h["crit"]; ok {
			t.Fatal("verified a crit header")
		}
		var c map[string]json.RawMessage
		if err := json.Unmarshal(claims, &c); err != nil {
			t.Fatalf("verified claims that are not an object: %v", err)
		}
		if n := topLevelMembers(t, claims); n != len(c) {
			t.Fatalf("verified claims with %d members of which %d distinct", n, len(c))
		}
		for _, k := range []string{"exp", "iat", "nbf"} {
			if v, ok := c[k]; ok && !bytes.ContainsAny(v[:1], "-0123456789") {
				t.Fatalf("verified %s = %s", k, v)
			}
		}
	})
}

// topLevelMembers counts an object's members as written, duplicates and
// all.
func topLevelMembers(t *testing.T, raw []byte) int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
