package ws

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzConsumeControl: whatever the peer sends, consumeControl never panics,
// consumes only whole masked ping/pong frames from the front (answering
// each once, with the unmasked payload) and leaves the rest untouched for
// gorilla.
func FuzzConsumeControl(f *testing.F) {
	f.Add([]byte{0x8a, 0x80, 1, 2, 3, 4})                                           // empty pong
	f.Add([]byte{0x89, 0x82, 1, 2, 3, 4, 'p' ^ 1, 'q' ^ 2, 0x81, 0x80, 0, 0, 0, 0}) // ping "pq", then text
	f.Add([]byte{0x89, 0x85, 1, 2})                                                 // ping cut short
	f.Add([]byte{0x88, 0x80, 1, 2, 3, 4})                                           // close: gorilla's
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), smallReaderSize)
		_, _ = br.Peek(min(len(in), smallReaderSize)) // fill as one read would
		buffered := br.Buffered()
		// Reference: walk the whole control frames at the front.
		want, wantCalls := 0, 0
		for {
			p := in[want:buffered]
			if len(p) < 6 || p[0]&0xf0 != 0x80 || p[1]&0x80 == 0 || p[1]&0x7f > 125 || (p[0]&0x0f != 9 && p[0]&0x0f != 10) {
				break
			}
			size := 6 + int(p[1]&0x7f)
			if len(p) < size {
				break
			}
			want += size
			wantCalls++
		}
		calls := 0
		err := consumeControl(br,
			func() error { calls++; return nil },
			func(p []byte) error {
				if len(p) > 125 {
					t.Fatalf("ping payload of %d bytes", len(p))
				}
				calls++
				return nil
			})
		if err != nil {
			t.Fatalf("callbacks never fail here, got %v", err)
		}
		consumed := buffered - br.Buffered()
		if consumed != want || calls != wantCalls {
			t.Fatalf("consumed %d bytes in %d frames, want %d in %d", consumed, calls, want, wantCalls)
		}
		rest, _ := br.Peek(br.Buffered())
		if !bytes.Equal(rest, in[consumed:buffered]) {
			t.Fatalf("the bytes left for gorilla are not the input's rest")
		}
	})
}
