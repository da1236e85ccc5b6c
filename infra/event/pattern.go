package event

import (
	"fmt"
	"strings"
)

// ValidatePattern checks a topic pattern as grants and settings write them:
// "*" (every topic), "<prefix>:*" (every topic under prefix) or one exact
// topic. It lives here, beside the topic rules, so that configuration can
// check patterns without linking the token machinery of infra/auth (the
// Lambdas must not carry JWT and JWKS code).
func ValidatePattern(p string) error {
	if p == "*" {
		return nil
	}
	if prefix, ok := strings.CutSuffix(p, ":*"); ok {
		if err := ValidateTopic(prefix); err != nil {
			return fmt.Errorf("bad prefix: %w", err)
		}
		return nil
	}
	return ValidateTopic(p)
}
