package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

// serverFrame is one unmasked frame as the relay sends it.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// decodeWS feeds b in pieces of at most step bytes and returns "op:payload"
// per message or control frame, and the first error.
func decodeWS(b []byte, step int) ([]string, error) {
	var p wsStream
	var got []string
	for len(b) > 0 {
		k := min(step, len(b))
		err := p.feed(b[:k], func(op byte, payload []byte) error {
			got = append(got, fmt.Sprintf("%d:%s", op, payload))
			return nil
		})
		if err != nil {
			return got, err
		}
		b = b[k:]
	}
	return got, nil
}

func TestWSStreamDecodesFramesSplitAnywhere(t *testing.T) {
	medium := bytes.Repeat([]byte("m"), 300)
	large := bytes.Repeat([]byte("L"), 70000)
	var stream []byte
	stream = append(stream, serverFrame(true, 0x1, []byte(`{"op":"subscribed"}`))...)
	stream = append(stream, serverFrame(true, 0x1, medium)...)
	stream = append(stream, serverFrame(false, 0x1, []byte("frag-"))...)
	stream = append(stream, serverFrame(true, 0x9, []byte("ping"))...) // between fragments
	stream = append(stream, serverFrame(false, 0x0, []byte("ment-"))...)
	stream = append(stream, serverFrame(true, 0x0, []byte("ed"))...)
	stream = append(stream, serverFrame(true, 0x9, nil)...)
	stream = append(stream, serverFrame(true, 0x1, large)...)
	stream = append(stream, serverFrame(true, 0x8, []byte{0x0f, 0xa8, 's'})...)
	want := []string{`1:{"op":"subscribed"}`, "1:" + string(medium), "9:ping", "1:frag-ment-ed", "9:", "1:" + string(large), "8:\x0f\xa8s"}
	for _, step := range []int{1, 2, 3, 7, 64, 1000, len(stream)} {
		got, err := decodeWS(stream, step)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: got %d messages, want %d", step, len(got), len(want))
		}
	}
}

func TestWSStreamRejectsWhatAServerMustNotSend(t *testing.T) {
	for name, b := range map[string][]byte{
		"masked":              {0x81, 0x81, 0, 0, 0, 0, 'x'},
		"reserved bits":       {0xc1, 0x01, 'x'},
		"long control":        append([]byte{0x89, 126, 0, 200}, make([]byte, 200)...),
		"fragmented control":  {0x09, 0x00},
		"bare continuation":   {0x80, 0x01, 'x'},
		"data inside message": append(serverFrame(false, 0x1, []byte("a")), serverFrame(true, 0x1, []byte("b"))...),
		"reserved opcode":     {0x83, 0x00},
	} {
		if _, err := decodeWS(b, 1); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// FuzzWSStream: any input, split anywhere, decodes to the same messages and
// verdict as fed whole, and never panics.
func FuzzWSStream(f *testing.F) {
	f.Add(append(serverFrame(true, 0x1, []byte(`{"op":"events"}`)), serverFrame(true, 0x9, []byte("p"))...), uint8(1))
	f.Add(append(serverFrame(false, 0x1, []byte("a")), serverFrame(true, 0x0, []byte("b"))...), uint8(2))
	f.Add(serverFrame(true, 0x1, bytes.Repeat([]byte("x"), 200)), uint8(5))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		whole, errWhole := decodeWS(b, len(b)+1)
		split, errSplit := decodeWS(b, int(step%16)+1)
		if !slices.Equal(whole, split) || (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole: %q (%v); split by %d: %q (%v)", whole, errWhole, step%16+1, split, errSplit)
		}
	})
}
