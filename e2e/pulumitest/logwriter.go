package pulumitest

import (
	"bytes"
	"sync"
)

// lineLogger writes each complete line to the test log with a prefix.
type lineLogger struct {
	mu     sync.Mutex
	logf   func(format string, args ...any)
	prefix string
	buf    bytes.Buffer
}

func (s *Stack) logWriter(op string) *lineLogger {
	return &lineLogger{logf: s.t.Logf, prefix: op}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(bytes.TrimRight(l.buf.Next(i+1), "\r\n"))
		if line != "" {
			l.logf("pulumi %s | %s", l.prefix, line)
		}
	}
	return len(p), nil
}

// Close logs a last unterminated line.
func (l *lineLogger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.logf("pulumi %s | %s", l.prefix, l.buf.String())
		l.buf.Reset()
	}
	return nil
}
