package event

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateTopic(t *testing.T) {
	cases := []struct {
		topic string
		rule  string // "" = valid
	}{
		{"order:1042", ""},
		{"user:42", ""},
		{"alerts:payments", ""},
		{"a", ""},
		{"A-Z_a.z@0-9:x", ""},
		{"a:b:c:d", ""},
		{strings.Repeat("x", MaxTopicLen), ""},
		{"", "must not be empty"},
		{strings.Repeat("x", MaxTopicLen+1), "longer than 200 bytes"},
		{":a", "empty segment"},
		{"a:", "empty segment"},
		{"a::b", "empty segment"},
		{":", "empty segment"},
		{"a b", `character ' ' at byte 1 is not allowed`},
		{"a/b", `character '/' at byte 1 is not allowed`},
		{"a\nb", `character '\n' at byte 1 is not allowed`},
		{"a*", `character '*' at byte 1 is not allowed`},
		{"caf\u00e9", `character 'é' at byte 3 is not allowed`},
		{"a\xffb", `byte 0xff at byte 1 is not allowed`},
	}
	for _, c := range cases {
		err := ValidateTopic(c.topic)
		if c.rule == "" {
			if err != nil {
				t.Errorf("ValidateTopic(%q) = %v, want nil", c.topic, err)
			}
			continue
		}
		var te *TopicError
		if !errors.As(err, &te) {
			t.Errorf("ValidateTopic(%q) = %v, want a *TopicError", c.topic, err)
			continue
		}
		if te.Topic != c.topic || !strings.Contains(te.Rule, c.rule) {
			t.Errorf("ValidateTopic(%q) = topic %q rule %q, want rule containing %q", c.topic, te.Topic, te.Rule, c.rule)
		}
		if !utf8.ValidString(err.Error()) {
			t.Errorf("ValidateTopic(%q): error message is not valid UTF-8: %q", c.topic, err.Error())
		}
	}
}

func TestTopicErrorTruncatesLongTopics(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes of two-byte runes, cut at 64
	msg := (&TopicError{Topic: long + "x", Rule: "r"}).Error()
	if !utf8.ValidString(msg) {
		t.Fatalf("cut in the middle of a rune: %q", msg)
	}
	if len(msg) > 100 {
		t.Fatalf("message not shortened: %d bytes", len(msg))
	}
}

// topicRef is the topic grammar written as a regular expression, the
// reference the fuzzer checks ValidateTopic against.
var topicRef = regexp.MustCompile(`^[A-Za-z0-9_.@-]+(:[A-Za-z0-9_.@-]+)*$`)

func FuzzTopic(f *testing.F) {
	f.Add("order:1042")
	f.Add("a::b")
	f.Add("caf\u00e9")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateTopic(s)
		want := len(s) <= MaxTopicLen && topicRef.MatchString(s)
		if (err == nil) != want {
			t.Fatalf("ValidateTopic(%q) = %v, reference says valid=%v", s, err, want)
		}
		if err == nil {
			return
		}
		var te *TopicError
		if !errors.As(err, &te) || te.Topic != s || te.Rule == "" {
			t.Fatalf("ValidateTopic(%q) = %#v, want a *TopicError naming a rule", s, err)
		}
		if utf8.ValidString(s) && !utf8.ValidString(err.Error()) {
			t.Fatalf("ValidateTopic(%q): message not valid UTF-8: %q", s, err.Error())
		}
	})
}
