package kops_test

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

func TestCreateClusterArgsByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		want    string
	}{
		{"1.25", "create cluster --name demo.example.com --state s3://demo-kops-state --cloud aws --zones eu-west-1a,eu-west-1b --networking calico --master-count 1 --node-count 2 --master-size t3.medium --node-size t3.medium --admin-access 203.0.113.0/24"},
		{"1.26", "create cluster --name demo.example.com --state s3://demo-kops-state --cloud aws --zones eu-west-1a,eu-west-1b --networking calico --control-plane-count 1 --node-count 2 --control-plane-size t3.medium --node-size t3.medium --admin-access 203.0.113.0/24"},
		{"1.34", "create cluster --name demo.example.com --state s3://demo-kops-state --cloud aws --zones eu-west-1a,eu-west-1b --networking calico --control-plane-count 1 --node-count 2 --control-plane-size t3.medium --node-size t3.medium --admin-access 203.0.113.0/24"},
	} {
		got := kops.CreateClusterArgs(kopstest.Desired(tc.version))
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("kops %s:\n got %s\nwant %s", tc.version, s, tc.want)
		}
	}
}

func TestCreateClusterArgsOptionalFlags(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.SSHAccess = config.MustParseAccessList("198.51.100.7/32", "pl-0123456789abcdef0")
	d.DNSZone = "example.com"
	d.KubernetesVersion = "1.34.2"
	s := strings.Join(kops.CreateClusterArgs(d), " ")
	for _, want := range []string{"--ssh-access 198.51.100.7/32,pl-0123456789abcdef0", "--dns-zone example.com", "--kubernetes-version 1.34.2"} {
		if !strings.Contains(s, want) {
			t.Errorf("%s: missing %q", s, want)
		}
	}
}

func TestCreateClusterArgsGossip(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.28")
	d.Name = "demo.k8s.local"
	got := kops.CreateClusterArgs(d)
	if strings.Contains(strings.Join(got, " "), "--dns") {
		t.Errorf("kops 1.28 gossip: %v; want no --dns flag (legacy gossip)", got)
	}
	if note := kops.GossipNote(d); !strings.Contains(note, "1.37") {
		t.Errorf("GossipNote = %q", note)
	}
	for _, v := range []string{"1.29", "1.34", "1.36"} {
		d.KopsVersion = kopsrelease.MustParse(v)
		got = kops.CreateClusterArgs(d)
		if !strings.Contains(strings.Join(got, " "), "--dns none") {
			t.Errorf("kops %s gossip: %v; want --dns none", v, got)
		}
	}
	if note := kops.GossipNote(d); !strings.Contains(note, "DNS-none") {
		t.Errorf("GossipNote = %q", note)
	}
	d.Name = "demo.example.com"
	if note := kops.GossipNote(d); note != "" {
		t.Errorf("GossipNote for a DNS name = %q", note)
	}
}

// TestCreateClusterArgsWorldAccess: world access, once allowed, is spelled
// out in the flags: kops never fills it in.
func TestCreateClusterArgsWorldAccess(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.AdminAccess = config.MustParseAccessList("0.0.0.0/0", "::/0")
	d.SSHAccess = config.MustParseAccessList("0.0.0.0/0")
	d.AllowWorldAccess = true
	s := strings.Join(kops.CreateClusterArgs(d), " ")
	if !strings.Contains(s, "--admin-access 0.0.0.0/0,::/0") || !strings.Contains(s, "--ssh-access 0.0.0.0/0") {
		t.Errorf("args %s: want the world spelled out explicitly", s)
	}
}
