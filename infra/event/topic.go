package event

import (
	"fmt"
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
			return &TopicError{Topic: t, Rule: fmt.Sprintf("character %q at byte %d is not allowed (segments use A-Z a-z 0-9 _ . @ -)", rune(c), i)}
		}
	}
	if segStart == len(t) {
		return &TopicError{Topic: t, Rule: "empty segment (segments are joined by a single ':' and may not be empty)"}
	}
	return nil
}

func topicByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '@' || c == '-'
}
