package childproc

import (
	"bytes"
	"io"
	"strings"
)

// maxLine is the longest line passed to Lines; a longer one arrives in
// pieces of this size, so a child printing no newline cannot grow memory.
const maxLine = 64 * 1024

// lineWriter splits one stream into lines for the sink and copies it to
// keep. os/exec calls Write from one goroutine per stream.
type lineWriter struct {
	sink    *lineSink
	stream  string
	keep    io.Writer // nil: not kept
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.keep != nil {
		w.keep.Write(p)
	}
	if w.sink.emit == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	rest := w.partial
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.send(rest[:i])
		rest = rest[i+1:]
	}
	for len(rest) >= maxLine {
		w.send(rest[:maxLine])
		rest = rest[maxLine:]
	}
	w.partial = append(w.partial[:0], rest...)
	return len(p), nil
}

// flush sends a last line that had no line end.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 && w.sink.emit != nil {
		w.send(w.partial)
	}
	w.partial = nil
}

func (w *lineWriter) send(line []byte) {
	w.sink.mu.Lock()
	defer w.sink.mu.Unlock()
	w.sink.emit(w.stream, strings.TrimSuffix(string(line), "\r"))
}

// tailBuffer keeps about the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
	cut bool // bytes before b were dropped
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

// String is the last max bytes, from the start of a line when one begins
// within them, marked with "…" when cut.
func (t *tailBuffer) String() string {
	s := strings.TrimRight(string(t.b), "\n")
	if len(s) <= t.max && !t.cut {
		return s
	}
	s = s[max(0, len(s)-t.max):]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}
