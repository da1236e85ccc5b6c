package auth

import (
	"strings"
	"testing"
)

func TestGrantsSource(t *testing.T) {
	for _, c := range []struct {
		g    *Grants
		want string
	}{
		{&Grants{Subject: "alice"}, "token:alice"},
		{&Grants{Subject: "auth0|42"}, "token:auth0|42"},
		{&Grants{Subject: "zoë"}, "token"},                             // not printable ASCII
		{&Grants{Subject: "a b"}, "token"},                             // space
		{&Grants{Subject: strings.Repeat("x", maxSourceLen)}, "token"}, // too long with the prefix
		{&Grants{}, "token"},
		{nil, "token"},
	} {
		if got := c.g.Source(); got != c.want {
			t.Errorf("Source(%+v) = %q, want %q", c.g, got, c.want)
		}
	}
}
