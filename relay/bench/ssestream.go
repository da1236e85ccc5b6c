package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// sseStream decodes an SSE body incrementally from whatever bytes a read
// returned: HTTP/1.1 chunked framing (when chunked) around `field: value`
// lines. The load processes read many streams from one epoll loop
// (reader_linux.go), so a stream cannot block on a bufio.Reader of its own.
type sseStream struct {
	chunked bool
	state   chunkState
	left    int    // data bytes left in the current chunk
	size    []byte // partial chunk-size line
	line    []byte // partial SSE line
}

type chunkState uint8

const (
	chunkSize chunkState = iota // reading a chunk-size line
	chunkData                   // reading left bytes of data
	chunkCR                     // the CRLF after a chunk's data
	chunkLF
	chunkEnd // the zero-size chunk was read
)

// errStreamEnd: the server ended the body (last chunk).
var errStreamEnd = errors.New("sse stream ended")

// maxSizeLine bounds a chunk-size line (hex size, extensions, CR).
const maxSizeLine = 64

// maxLine bounds a partial line (a misbehaving server cannot make a load
// process buffer without end).
const maxLine = 1 << 20

// feed decodes b, calling line for each complete SSE line (with its '\n').
func (p *sseStream) feed(b []byte, line func([]byte)) error {
	if !p.chunked {
		return p.lines(b, line)
	}
	for len(b) > 0 {
		switch p.state {
		case chunkSize:
			i := bytes.IndexByte(b, '\n')
			in := i // bytes of the size line in this read
			if i < 0 {
				in = len(b)
			}
			// The same bound whether or not the line ends in this read,
			// so that how a stream was split never changes the verdict.
			if len(p.size)+in > maxSizeLine {
				return errors.New("chunk size line too long")
			}
			if i < 0 {
				p.size = append(p.size, b...)
				return nil
			}
			p.size = append(p.size, b[:i]...)
			b = b[i+1:]
			hexLen, _, _ := bytes.Cut(bytes.TrimRight(p.size, "\r"), []byte(";"))
			n, err := strconv.ParseUint(string(bytes.TrimSpace(hexLen)), 16, 31)
			p.size = p.size[:0]
			if err != nil {
				return fmt.Errorf("chunk size %q: %w", hexLen, err)
			}
			if n == 0 {
				p.state = chunkEnd
				return errStreamEnd
			}
			p.left, p.state = int(n), chunkData
		case chunkData:
			k := min(p.left, len(b))
			if err := p.lines(b[:k], line); err != nil {
				return err
			}
			b, p.left = b[k:], p.left-k
			if p.left == 0 {
				p.state = chunkCR
			}
		case chunkCR, chunkLF:
			want := byte('\r')
			if p.state == chunkLF {
				want = '\n'
			}
			if b[0] != want {
				return fmt.Errorf("chunk not followed by CRLF: %q", b[0])
			}
			b = b[1:]
			p.state++
			if p.state > chunkLF {
				p.state = chunkSize
			}
		case chunkEnd:
			return errStreamEnd
		}
	}
	return nil
}

// lines splits SSE data into lines; a line split across reads is kept.
func (p *sseStream) lines(b []byte, line func([]byte)) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(p.line)+len(b) > maxLine {
				return errors.New("sse line too long")
			}
			p.line = append(p.line, b...)
			return nil
		}
		if len(p.line) > 0 {
			p.line = append(p.line, b[:i+1]...)
			line(p.line)
			p.line = p.line[:0]
		} else {
			line(b[:i+1]) // the common case: a whole line in one read, no copy
		}
		b = b[i+1:]
	}
	return nil
}
