package kopsrelease

import (
	"strings"
	"testing"
)

func TestParseOutput(t *testing.T) {
	t.Parallel()
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
		got, err := ParseOutput(tc.out)
		if err != nil || got != tc.want {
			t.Errorf("ParseOutput(%q) = %v, %v; want %v", tc.out, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "Error: unknown command\n", "Client version: banana\n"} {
		if v, err := ParseOutput(bad); err == nil {
			t.Errorf("ParseOutput(%q) = %v, want an error", bad, v)
		}
	}
}

func TestVersionOrdering(t *testing.T) {
	t.Parallel()
	v := Version{1, 26, 0}
	if !v.AtLeast(minor(26)) || !v.AtLeast(minor(9)) || v.AtLeast(minor(27)) || v.AtLeast(Version{2, 0, 0}) || !v.AtLeast(Version{0, 99, 0}) {
		t.Errorf("AtLeast is wrong around %v", v)
	}
	if !v.SameMinor(Version{1, 26, 7}) || v.SameMinor(Version{1, 25, 0}) {
		t.Errorf("SameMinor is wrong around %v", v)
	}
	if _, err := Parse("latest"); err == nil {
		t.Error(`Parse("latest") succeeded`)
	}
	if got, _ := Parse("1.34"); got != (Version{1, 34, 0}) {
		t.Errorf(`Parse("1.34") = %v`, got)
	}
}

func TestSupported(t *testing.T) {
	t.Parallel()
	next := Version{Major: 1, Minor: Newest.Minor + 1}
	before := Version{Major: 1, Minor: Oldest.Minor - 1, Patch: 2}
	for _, v := range []Version{Oldest, OldestToCreate, Newest, {1, Newest.Minor, 9}} {
		if err := Supported(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	want := "use " + OldestToCreate.MinorString() + " to " + Newest.MinorString()
	for _, v := range []Version{before, next, {2, 0, 0}} {
		if err := Supported(v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", v, err, want)
		}
	}
}

func mustParse(t *testing.T, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
