package bus

// The validating skipper of DecodeRequest: data and (outside strict mode)
// unknown fields are checked for JSON syntax as encoding/json checks a
// whole document, and their extent found, without decoding them.

// skip moves past one JSON value, checking its syntax as encoding/json
// does (so data and unknown fields are valid JSON), depth levels deep.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return &RequestError{Msg: "invalid JSON: nested too deep"}
	}
	d.space()
	if d.i >= len(d.b) {
		return d.syntax("")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.skipStr()
		return err
	case c == '{':
		return d.skipObject(depth)
	case c == '[':
		return d.skipArray(depth)
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	}
	return d.syntax("want a JSON value")
}

// skipStr moves past a string at d.i (its opening quote), checking its
// escapes. plain reports plain ASCII without escapes: its bytes between
// the quotes are the string.
func (d *decoder) skipStr() (plain bool, err error) {
	d.i++
	plain = true
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return plain, nil
		case c == '\\':
			plain = false
			if err := d.escape(); err != nil {
				return false, err
			}
			continue
		case c < 0x20:
			return false, d.syntax("control character in a string")
		case c >= 0x80:
			plain = false
		}
		d.i++
	}
	return false, d.syntax("")
}

func (d *decoder) skipObject(depth int) error {
	if d.open('}') {
		return nil
	}
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return d.syntax("want a field name")
		}
		if _, err := d.skipStr(); err != nil {
			return err
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return d.syntax("want ':' after a field name")
		}
		d.i++
		if err := d.skip(depth + 1); err != nil {
			return err
		}
		if done, err := d.next('}'); done || err != nil {
			return err
		}
	}
}

func (d *decoder) skipArray(depth int) error {
	if d.open(']') {
		return nil
	}
	for {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
		if done, err := d.next(']'); done || err != nil {
			return err
		}
	}
}

// number moves past a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return d.syntax("invalid number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return d.syntax("invalid number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return d.syntax("invalid number")
		}
	}
	return nil
}

func (d *decoder) digits() int {
	start := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}
