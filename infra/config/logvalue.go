package config

import (
	"log/slog"
	"net/url"
)

// LogValue makes a *Config safe to log at start (slog.LogValuer): every
// setting with its value and where it came from, secrets shown only as
// "set" or "unset" — a Redis URL keeps its host but loses its password.
func (c *Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("mode", string(c.Mode))}
	if c.ConfigFile != "" {
		attrs = append(attrs, slog.String("config_file", c.ConfigFile))
	}
	for _, s := range settings() {
		v := s.get(c)
		switch {
		case s.name == "redis_url" && v != "":
			if u, err := url.Parse(v); err == nil {
				v = u.Redacted()
			} else {
				v = "set"
			}
		case s.name == "api_keys":
			// get already prints names only.
		case s.secret && v != "":
			v = "set"
		case s.secret:
			v = "unset"
		}
		if from, ok := c.origin[s.name]; ok {
			v += " (" + from + ")"
		}
		attrs = append(attrs, slog.String(s.name, v))
	}
	attrs = append(attrs, slog.Int("sources", len(c.Sources)))
	return slog.GroupValue(attrs...)
}
