package kops_test

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

func TestCreateClusterArgsByVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    string
	}{
		{"1.25", "create cluster --name demo.example.com --state s3://demo-kops-state --cloud aws --zones eu-west-1a,eu-west-1b --networking calico --master-count 1 --node-count 2 --master-size t3.medium --node-size t3.medium --admin-access 203.0.113.0/24"},
		{"1.26", "create cluster --name demo.example.com --state s3://demo-kops-state --cloud aws --zones eu-west-1a,eu-west-1b --networking calico --control-plane-count 1 --node-count 2 --control-plane-size t3.medium --node-size t3.medium --admin-access 203.0.113.0/24"},
		{"1.34", "create cluster --name demo.example.com --state s3://demo-kops-state --cloud aws --zones eu-west-1a,eu-west-1b --networking calico --control-plane-count 1 --node-count 2 --control-plane-size t3.medium --node-size t3.medium --admin-access 203.0.113.0/24"},
	} {
		got, err := kops.CreateClusterArgs(kopstest.Desired(tc.version))
		if err != nil {
			t.Fatalf("%s: %v", tc.version, err)
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("kops %s:\n got %s\nwant %s", tc.version, s, tc.want)
		}
	}
}

func TestCreateClusterArgsOptionalFlags(t *testing.T) {
	d := kopstest.Desired("1.34")
	d.SSHAccess = []string{"198.51.100.7/32", "pl-0123456789abcdef0"}
	d.DNSZone = "example.com"
	d.KubernetesVersion = "1.34.2"
	got, err := kops.CreateClusterArgs(d)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Join(got, " ")
	for _, want := range []string{"--ssh-access 198.51.100.7/32,pl-0123456789abcdef0", "--dns-zone example.com", "--kubernetes-version 1.34.2"} {
		if !strings.Contains(s, want) {
			t.Errorf("%s: missing %q", s, want)
		}
	}
}

func TestCreateClusterArgsGossip(t *testing.T) {
	d := kopstest.Desired("1.28")
	d.Name = "demo.k8s.local"
	got, _ := kops.CreateClusterArgs(d)
	if strings.Contains(strings.Join(got, " "), "--dns") {
		t.Errorf("kops 1.28 gossip: %v; want no --dns flag (legacy gossip)", got)
	}
	if note := kops.GossipNote(d); !strings.Contains(note, "1.37") {
		t.Errorf("GossipNote = %q", note)
	}
	for _, v := range []string{"1.29", "1.34", "1.36"} {
		d.KopsVersion = v
		got, _ = kops.CreateClusterArgs(d)
		if !strings.Contains(strings.Join(got, " "), "--dns none") {
			t.Errorf("kops %s gossip: %v; want --dns none", v, got)
		}
	}
	if note := kops.GossipNote(d); !strings.Contains(note, "DNS-none") {
		t.Errorf("GossipNote = %q", note)
	}
	d.KopsVersion = "1.37"
	if _, err := kops.CreateClusterArgs(d); err == nil || !strings.Contains(err.Error(), "kopscalico:dnsZone") {
		t.Errorf("kops 1.37 gossip: err %v; want a refusal naming kopscalico:dnsZone", err)
	}
	d.Name = "demo.example.com"
	if note := kops.GossipNote(d); note != "" {
		t.Errorf("GossipNote for a DNS name = %q", note)
	}
}

func TestValidateRefusesWorldAccess(t *testing.T) {
	for name, mutate := range map[string]func(*kops.Desired){
		"world ssh":           func(d *kops.Desired) { d.SSHAccess = []string{"0.0.0.0/0"} },
		"world api ipv6":      func(d *kops.Desired) { d.AdminAccess = []string{"203.0.113.0/24", "::/0"} },
		"empty api":           func(d *kops.Desired) { d.AdminAccess = nil },
		"bad cidr":            func(d *kops.Desired) { d.SSHAccess = []string{"10.0.0.1"} },
		"vxlan on 1.21":       func(d *kops.Desired) { d.KopsVersion = "1.21"; d.Encapsulation = "vxlan" },
		"no zones":            func(d *kops.Desired) { d.Zones = nil },
		"bad src/dst":         func(d *kops.Desired) { d.AWSSrcDstCheck = "off" },
		"unpinned kops":       func(d *kops.Desired) { d.KopsVersion = "" },
		"zero nodes":          func(d *kops.Desired) { d.NodeCount = 0 },
		"empty state store":   func(d *kops.Desired) { d.StateStore = "" },
		"unknown encapsulate": func(d *kops.Desired) { d.Encapsulation = "gre" },
	} {
		d := kopstest.Desired("1.34")
		mutate(&d)
		if err := d.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "kopscalico:") {
			t.Errorf("%s: error %q names no config key", name, err)
		}
	}
	d := kopstest.Desired("1.34")
	d.AdminAccess = nil
	d.SSHAccess = []string{"0.0.0.0/0"}
	d.AllowWorldAccess = true
	if err := d.Validate(); err != nil {
		t.Fatalf("explicitly allowed world access refused: %v", err)
	}
	got, _ := kops.CreateClusterArgs(d)
	if s := strings.Join(got, " "); !strings.Contains(s, "--admin-access 0.0.0.0/0,::/0") || !strings.Contains(s, "--ssh-access 0.0.0.0/0") {
		t.Errorf("args %s: want the world spelled out explicitly", s)
	}
}
