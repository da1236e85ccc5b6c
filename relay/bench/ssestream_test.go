package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"slices"
	"testing"
)

// decode feeds b to a fresh sseStream in pieces of at most step bytes and
// returns the lines and the first error.
func decode(b []byte, chunked bool, step int) ([]string, error) {
	p := sseStream{chunked: chunked}
	var lines []string
	for len(b) > 0 {
		k := min(step, len(b))
		if err := p.feed(b[:k], func(l []byte) { lines = append(lines, string(l)) }); err != nil {
			return lines, err
		}
		b = b[k:]
	}
	return lines, nil
}

// reference decodes with net/http's chunked reader and bufio, as the
// goroutine-per-connection reader does.
func reference(b []byte, chunked bool) []string {
	var r io.Reader = bytes.NewReader(b)
	if chunked {
		r = httputil.NewChunkedReader(r)
	}
	br := bufio.NewReader(r)
	var lines []string
	for {
		l, err := br.ReadSlice('\n')
		if err != nil {
			return lines
		}
		lines = append(lines, string(l))
	}
}

func chunk(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, []byte(httputilChunk(p))...)
	}
	return b
}

func httputilChunk(p string) string {
	var buf bytes.Buffer
	w := httputil.NewChunkedWriter(&buf)
	_, _ = w.Write([]byte(p)) // a bytes.Buffer does not fail
	return buf.String()
}

func TestSSEStreamMatchesNetHTTP(t *testing.T) {
	body := chunk("retry: 2000\n\n", "event: ready\nid: 17-0\ndata: {\"cursor\":\"17-0\"}\n\n",
		"id: 18-0\ndata: {\"seq\":1,\"ts\":5}\n\nid: 19-0\ndata: {\"se", "q\":2,\"ts\":6}\n\n", ": hb\n\n")
	want := reference(body, true)
	if len(want) != 14 {
		t.Fatalf("reference decoded %d lines: %q", len(want), want)
	}
	for step := 1; step <= len(body); step++ {
		got, err := decode(body, true, step)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: got %q, want %q", step, got, want)
		}
	}
	// The last chunk ends the stream.
	if _, err := decode(append(body, "0\r\n\r\n"...), true, 7); !errors.Is(err, errStreamEnd) {
		t.Fatalf("last chunk: %v, want errStreamEnd", err)
	}
	// Plain (not chunked) bodies are lines only.
	plain := []byte("event: ready\ndata: {}\n\nid: 1\ndata: {\"seq\":1}\n\n")
	if got, _ := decode(plain, false, 3); !slices.Equal(got, reference(plain, false)) {
		t.Fatalf("plain body: %q", got)
	}
}

func TestSSEStreamRejectsBadFraming(t *testing.T) {
	for name, b := range map[string]string{
		"bad size":       "zz\r\nabc\r\n",
		"missing CRLF":   "3\r\nabcX\r\n",
		"size line long": string(bytes.Repeat([]byte("1"), 100)),
	} {
		if _, err := decode([]byte(b), true, 5); err == nil || errors.Is(err, errStreamEnd) {
			t.Errorf("%s: %v, want a framing error", name, err)
		}
	}
}

// FuzzSSEStream: any input, split anywhere, decodes to the same lines and
// the same verdict as fed whole, and never panics.
func FuzzSSEStream(f *testing.F) {
	f.Add(chunk("event: ready\ndata: {}\n\n", "id: 1\ndata: {\"seq\":1}\n\n"), true, uint8(3))
	f.Add([]byte("data: x\n\ndata: y\n"), false, uint8(1))
	f.Add([]byte("5;ext=1\r\nab\ncd\r\n0\r\n\r\n"), true, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, chunked bool, step uint8) {
		whole, errWhole := decode(b, chunked, len(b)+1)
		split, errSplit := decode(b, chunked, int(step%16)+1)
		if !slices.Equal(whole, split) || (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole: %q (%v); split by %d: %q (%v)", whole, errWhole, step%16+1, split, errSplit)
		}
		if errWhole == nil && !chunked && !slices.Equal(whole, reference(b, false)) {
			t.Fatalf("lines %q differ from bufio's %q", whole, reference(b, false))
		}
	})
}
