package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileSources decodes `sources:` strictly (KnownFields) while the inline
// map swallows the settings, which applyFile checks against the table with
// their own line numbers.
type fileSources struct {
	Sources []WebhookSource `yaml:"sources"`
	Rest    map[string]any  `yaml:",inline"`
}

// applyFile applies the settings of a YAML config file. Keys are the
// setting names with underscores; an unknown key is an error naming it and
// its line, so a typo never silently leaves a default in place.
func (c *Config) applyFile(table []*setting, path string, data []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if line, text, ok := strings.Cut(rest, ": "); ok {
				return fmt.Errorf("%s:%s: %s", path, line, text)
			}
		}
		return fmt.Errorf("%s: %s", path, msg)
	}
	if len(root.Content) == 0 {
		return nil // empty file: nothing to override
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("%s:%d: want a mapping of settings (addr: ..., heartbeat: ...)", path, top.Line)
	}

	var errs []error
	seen := make(map[string]int)
	hasSources := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], resolveAlias(top.Content[i+1])
		key := k.Value
		label := fmt.Sprintf("%s:%d: %s", path, k.Line, key)
		if line, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate key (first at line %d)", label, line))
			continue
		}
		seen[key] = k.Line
		if key == "sources" {
			hasSources = true
			continue
		}
		s := settingByName(table, key)
		if s == nil {
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q%s", path, k.Line, key, suggest(table, key, func(s *setting) string { return s.name })))
			continue
		}
		c.origin[s.name] = label
		if err := applyNode(c, s, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
		}
	}
	if hasSources {
		if err := c.decodeSources(path, data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// decodeSources decodes the `sources:` section into []WebhookSource with
// unknown fields rejected.
func (c *Config) decodeSources(path string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc fileSources
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			errs := make([]error, 0, len(te.Errors))
			for _, e := range te.Errors {
				errs = append(errs, rewriteYAMLError(path, e))
			}
			return errors.Join(errs...)
		}
		return fmt.Errorf("%s: sources: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	c.Sources = doc.Sources
	return nil
}

// yamlFieldError matches yaml.v3's unknown-field message.
const yamlFieldError = `^line (\d+): field (\S+) not found in type \S+$`

// rewriteYAMLError turns "line 7: field secert not found in type
// config.WebhookSource" into "hookrelay.yaml:7: sources: unknown key
// "secert"" so it reads like the other errors of the file.
func rewriteYAMLError(path, msg string) error {
	if m := regexp.MustCompile(yamlFieldError).FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: sources: unknown key %q", path, m[1], m[2])
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if line, text, ok := strings.Cut(rest, ": "); ok {
			return fmt.Errorf("%s:%s: sources: %s", path, line, text)
		}
	}
	return fmt.Errorf("%s: sources: %s", path, msg)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// applyNode sets one setting from its YAML value: a scalar, a sequence for
// lists, or (api_keys) a name: key mapping.
func applyNode(c *Config, s *setting, v *yaml.Node) error {
	switch v.Kind {
	case yaml.ScalarNode:
		val := v.Value
		if v.Tag == "!!null" {
			val = ""
		}
		return s.setString(c, val)
	case yaml.SequenceNode:
		if s.list == nil {
			return fmt.Errorf("want a single value, not a list")
		}
		items := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			item = resolveAlias(item)
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a plain value in the list", item.Line)
			}
			items = append(items, strings.TrimSpace(item.Value))
		}
		return s.list(c, items)
	case yaml.MappingNode:
		if s.name != "api_keys" {
			return fmt.Errorf("want a single value, not a mapping")
		}
		items := make([]string, 0, len(v.Content)/2)
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], resolveAlias(v.Content[i+1])
			if val.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want name: key", k.Line)
			}
			items = append(items, k.Value+":"+val.Value)
		}
		return s.list(c, items)
	}
	return fmt.Errorf("unsupported YAML value")
}

// suggest offers the setting an unknown key was probably meant to be:
// dashes for underscores, an env or flag spelling, or a two-edit typo,
// spelled by spell (YAML key or env name).
func suggest(table []*setting, key string, spell func(*setting) string) string {
	norm := strings.ToLower(strings.TrimPrefix(strings.TrimLeft(key, "-"), "HOOKRELAY_"))
	norm = strings.ReplaceAll(strings.TrimPrefix(norm, "hookrelay_"), "-", "_")
	var close []string
	for _, s := range table {
		if s.name == norm {
			return fmt.Sprintf(" (did you mean %s?)", spell(s))
		}
		if editDistance(s.name, norm) <= 2 {
			close = append(close, spell(s))
		}
	}
	sort.Strings(close)
	if len(close) > 0 {
		return fmt.Sprintf(" (did you mean %s?)", strings.Join(close, " or "))
	}
	return ""
}

// editDistance is the Levenshtein distance, for short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
