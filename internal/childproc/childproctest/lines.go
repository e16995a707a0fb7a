// Package childproctest records what a child prints, for tests of code that
// runs children.
package childproctest

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// Lines records each line given to Add (a childproc Cmd.Lines callback, or
// a kops runner's log) as "stream: line". Safe for concurrent use.
type Lines struct {
	mu    sync.Mutex
	lines []string
}

// Add records one line.
func (l *Lines) Add(stream, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, stream+": "+line)
}

// All is every line so far.
func (l *Lines) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Count is how many lines so far start with prefix.
func (l *Lines) Count(prefix string) int {
	n := 0
	for _, line := range l.All() {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

func (l *Lines) String() string { return strings.Join(l.All(), "\n") }

// WaitFor waits for a line that starts with prefix and returns it. It fails
// the test when done closes first (the child ended) or after a minute.
func (l *Lines) WaitFor(t testing.TB, prefix string, done <-chan struct{}) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if line, ok := l.first(prefix); ok {
			return line
		}
		select {
		case <-done:
			if line, ok := l.first(prefix); ok {
				return line
			}
			t.Fatalf("the child ended before printing %q:\n%s", prefix, l)
		case <-deadline:
			t.Fatalf("no %q after a minute:\n%s", prefix, l)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (l *Lines) first(prefix string) (string, bool) {
	for _, line := range l.All() {
		if strings.HasPrefix(line, prefix) {
			return line, true
		}
	}
	return "", false
}
