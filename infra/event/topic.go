package event

import (
	"fmt"
	"unicode/utf8"
)

// Topic rules. A topic is one or more segments joined by ':', each segment
// made of [A-Za-z0-9_.@-], 1 to MaxTopicLen bytes in all.
const MaxTopicLen = 200

// TopicError names the rule a topic broke, so an API can tell the caller.
type TopicError struct {
	Topic string
	Rule  string
}

func (e *TopicError) Error() string {
	return fmt.Sprintf("topic %q: %s", truncate(e.Topic), e.Rule)
}

// ValidateTopic returns a *TopicError naming the broken rule, or nil.
func ValidateTopic(t string) error {
	if t == "" {
		return &TopicError{Topic: t, Rule: "must not be empty"}
	}
	if len(t) > MaxTopicLen {
		return &TopicError{Topic: t, Rule: fmt.Sprintf("longer than %d bytes", MaxTopicLen)}
	}
	segStart := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == ':' {
			if i == segStart {
				return &TopicError{Topic: t, Rule: "empty segment (segments are joined by a single ':' and may not be empty)"}
			}
			segStart = i + 1
			continue
		}
		if !topicByte(c) {
			return &TopicError{Topic: t, Rule: badChar(t, i)}
		}
	}
	if segStart == len(t) {
		return &TopicError{Topic: t, Rule: "empty segment (segments are joined by a single ':' and may not be empty)"}
	}
	return nil
}

// badChar names the character at byte i as the user typed it: the whole
// UTF-8 sequence ('é', not 'Ã'), or the byte when it is not valid UTF-8.
func badChar(t string, i int) string {
	const allowed = " is not allowed (segments use A-Z a-z 0-9 _ . @ -)"
	r, size := utf8.DecodeRuneInString(t[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02x at byte %d%s", t[i], i, allowed)
	}
	return fmt.Sprintf("character %q at byte %d%s", r, i, allowed)
}

func topicByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '@' || c == '-'
}
