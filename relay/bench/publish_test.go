package bench

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	c, err := parsePublish([]string{"--concurrency", "1, 16,64", "--duration", "2s"}, io.Discard)
	if err != nil || len(c.Concurrency) != 3 || c.Concurrency[1] != 16 || c.Bus != "redis" {
		t.Fatalf("got %+v, %v", c, err)
	}
	// The floor has no bus: its rounds run without Redis.
	if c, err := parsePublish([]string{"--server", "floor"}, io.Discard); err != nil || c.Server != "floor" || c.Bus != "memory" {
		t.Fatalf("--server floor: got %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"--server", "nginx"},
		{"--concurrency", "0"},
		{"--concurrency", "x"},
		{"--concurrency", "1001"},
		{"--bus", "kafka"},
		{"--duration", "0s"},
		{"--topics", "0"},
		{"extra"},
	} {
		if _, err := parsePublish(bad, io.Discard); err == nil {
			t.Errorf("parsePublish(%q) accepted", bad)
		}
	}
	if _, err := parse([]string{"publish"}, io.Discard); err == nil {
		t.Error("the subscriber bench accepted a stray argument")
	}
}

func TestReadAnswer(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 5\r\n\r\nhello" +
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	for _, want := range []int{200, 503} {
		if st, err := readAnswer(br); err != nil || st != want {
			t.Fatalf("status %d, %v; want %d", st, err, want)
		}
	}
	for _, bad := range []string{
		"",
		"HTTP/1.1\r\n\r\n",
		"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",                        // no length: the tool cannot find the next answer
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", // short body
		"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
	} {
		if _, err := readAnswer(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("readAnswer(%q) accepted", bad)
		}
	}
}

// FuzzReadAnswer: whatever a server sends, readAnswer returns (no panic,
// no hang) and never reads past what the answer declared.
func FuzzReadAnswer(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
	f.Add("HTTP/1.1 200\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := strings.NewReader(in + "TAIL")
		br := bufio.NewReaderSize(r, 4096)
		st, err := readAnswer(br)
		if err == nil && (st < 0 || int(r.Size())-r.Len()-br.Buffered() > len(in)+4) {
			t.Fatalf("status %d after reading past the input", st)
		}
	})
}
