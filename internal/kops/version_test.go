package kops

import "testing"

func TestParseVersionOutput(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want Version
	}{
		{"Client version: 1.34.1 (git-v1.34.1)\n", Version{1, 34, 1}},
		{"Client version: 1.28.4 (git-v1.28.4)\nLast applied server version: 1.28.4\n", Version{1, 28, 4}},
		{"I1126 12:00:00.000000 1 main.go:1] noise\nClient version: 1.36.0-beta.1 (git-v1.36.0-beta.1)\n", Version{1, 36, 0}},
		{"Version 1.7.0 (git-e04c29d)\n", Version{1, 7, 0}},
		{"1.35.2\n", Version{1, 35, 2}},
	} {
		got, err := ParseVersionOutput(tc.out)
		if err != nil || got != tc.want {
			t.Errorf("ParseVersionOutput(%q) = %v, %v; want %v", tc.out, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "Error: unknown command\n", "Client version: banana\n"} {
		if v, err := ParseVersionOutput(bad); err == nil {
			t.Errorf("ParseVersionOutput(%q) = %v, want an error", bad, v)
		}
	}
}

func TestVersionOrdering(t *testing.T) {
	v := Version{1, 26, 0}
	if !v.AtLeast(1, 26) || !v.AtLeast(1, 9) || v.AtLeast(1, 27) || v.AtLeast(2, 0) || !v.AtLeast(0, 99) {
		t.Errorf("AtLeast is wrong around %v", v)
	}
	if !v.SameMinor(Version{1, 26, 7}) || v.SameMinor(Version{1, 25, 0}) {
		t.Errorf("SameMinor is wrong around %v", v)
	}
	if _, err := ParseVersion("latest"); err == nil {
		t.Error(`ParseVersion("latest") succeeded`)
	}
	if got, _ := ParseVersion("1.34"); got != (Version{1, 34, 0}) {
		t.Errorf(`ParseVersion("1.34") = %v`, got)
	}
}
