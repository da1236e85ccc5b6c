package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hookrelay/hookrelay/infra/event"
)

// claims is the JWT payload hookrelay reads: the registered claims plus the
// topic grants. "topics" are subscribe grants, "publish" publish grants;
// "name" is the display name presence shows for the subject.
type claims struct {
	jwt.RegisteredClaims
	Topics  []string `json:"topics,omitempty"`
	Publish []string `json:"publish,omitempty"`
	Name    string   `json:"name,omitempty"`
}

// maxNameBytes bounds the name claim: it is shown to every member of a
// room (presence.MaxNameBytes).
const maxNameBytes = 128

// checkName rejects display names that could not safely be shown.
func checkName(name string) error {
	switch {
	case len(name) > maxNameBytes:
		return fmt.Errorf("name longer than %d bytes", maxNameBytes)
	case !utf8.ValidString(name):
		return errors.New("name is not valid UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("name contains a control character")
	}
	return nil
}

// subPlaceholder in a grant is replaced by the token's subject, so one
// template ("user:{sub}") serves every user.
const subPlaceholder = "{sub}"

// maxSubjectBytes bounds the subject: it ends up in read-cursor keys and logs.
const maxSubjectBytes = 256

// maxGrants bounds the grants one token may carry; every subscribe checks
// them linearly.
const maxGrants = 256

// checkSubject rejects subjects that could not safely be stored or logged.
func checkSubject(sub string) error {
	switch {
	case sub == "":
		return errors.New("missing sub")
	case len(sub) > maxSubjectBytes:
		return fmt.Errorf("sub longer than %d bytes", maxSubjectBytes)
	case !utf8.ValidString(sub):
		return errors.New("sub is not valid UTF-8")
	case strings.IndexFunc(sub, unicode.IsControl) >= 0:
		return errors.New("sub contains a control character")
	}
	return nil
}

// expandGrants replaces {sub} in every pattern and validates the result.
// A subject used in a grant must itself be one topic segment: "user:{sub}"
// with sub "1:*" or "1:x" must not widen or move the grant.
func expandGrants(patterns []string, sub string) ([]string, error) {
	if len(patterns) > maxGrants {
		return nil, fmt.Errorf("more than %d grants", maxGrants)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(patterns))
	for i, p := range patterns {
		if strings.Contains(p, subPlaceholder) {
			if err := event.ValidateTopic(sub); err != nil || strings.Contains(sub, ":") {
				return nil, fmt.Errorf("grant %d uses {sub} but sub is not a valid topic segment (A-Z a-z 0-9 _ . @ -)", i+1)
			}
			p = strings.ReplaceAll(p, subPlaceholder, sub)
		}
		if err := ValidateGrant(p); err != nil {
			return nil, fmt.Errorf("grant %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// ValidateGrant checks a grant pattern (after {sub} expansion): "*", an exact
// topic, or "prefix:*" where prefix is a valid topic.
func ValidateGrant(p string) error {
	if err := event.ValidatePattern(p); err != nil {
		return fmt.Errorf("bad grant: %w", err)
	}
	return nil
}
