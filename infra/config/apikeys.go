package config

import (
	"fmt"
	"strings"
)

// ParseAPIKeys parses the HOOKRELAY_API_KEYS form "name:key,name2:key2".
// The key is everything after the first colon, so a key may be a secret
// reference ("ci:aws-sm://hookrelay/keys#ci"). Names are unique and made
// of letters, digits, '_', '-' and '.'. Errors never contain a key.
func ParseAPIKeys(s string) ([]APIKey, error) {
	return parseAPIKeyItems(splitList(s))
}

func parseAPIKeyItems(items []string) ([]APIKey, error) {
	keys := make([]APIKey, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		name, key, ok := strings.Cut(strings.TrimSpace(item), ":")
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		switch {
		case !ok:
			return nil, fmt.Errorf("entry %d: want name:key", i+1)
		case !validKeyName(name):
			return nil, fmt.Errorf("entry %d: name must be 1-64 letters, digits, '_', '-' or '.'", i+1)
		case key == "":
			return nil, fmt.Errorf("entry %d (%s): empty key", i+1, name)
		case seen[name]:
			return nil, fmt.Errorf("entry %d: duplicate name %q", i+1, name)
		}
		seen[name] = true
		keys = append(keys, APIKey{Name: name, Key: key})
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return keys, nil
}

func validKeyName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}
