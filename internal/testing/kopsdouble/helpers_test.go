package kopsdouble

import (
	"strings"
)

// lastLine is the error line of a kops stderr (klog lines come first).
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	return lines[len(lines)-1]
}
