package dataplane

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Row is one thing checked: what the stack wants, what the cluster runs,
// and the fix when they differ.
type Row struct {
	Subject string
	Want    string
	Got     string
	OK      bool
	// Broken: not only another mode than asked, but cross-node pod traffic
	// cannot flow (a backend that does not carry the pool's encapsulation).
	Broken bool
	Fix    string
	// Patch is the live change that fixes the row, if Calico takes one.
	Patch *PoolPatch
}

// Report is the comparison of the observed dataplane with the desired one.
type Report struct {
	Expected Expected
	Observed Observed
	Rows     []Row
}

// Failed says whether any row differs.
func (r Report) Failed() bool { return len(r.Differing()) > 0 }

// Differing are the rows that differ.
func (r Report) Differing() []Row {
	var out []Row
	for _, row := range r.Rows {
		if !row.OK {
			out = append(out, row)
		}
	}
	return out
}

// Compare checks the observed dataplane against the desired one.
func Compare(d Desired, o Observed) Report {
	e := Expect(d)
	r := Report{Expected: e, Observed: o}
	add := func(row Row) {
		row.OK = row.Fix == ""
		r.Rows = append(r.Rows, row)
	}
	r.Rows = append(r.Rows, poolRows(d, e, o)...)
	add(backendRow(e, o))
	r.Rows = append(r.Rows, felixRows(d, o)...)
	add(rolloutRow(o.Rollout))
	return r
}

// poolRows checks every enabled IPv4 pool: its encapsulation against the
// desired one, and against the backend that must carry it.
func poolRows(d Desired, e Expected, o Observed) []Row {
	if !o.PoolsInstalled {
		return []Row{{Subject: "ippools", Want: "Calico's IPPool CRD (" + CalicoGroup + "/" + CalicoVersion + ")", Got: "not installed",
			Fix: "the cluster runs no Calico: kops installs it with networking calico (kops update cluster --yes)"}}
	}
	var rows []Row
	want := modes(e.IPIPMode, e.VXLANMode)
	for _, p := range o.Pools {
		if p.Disabled || strings.Contains(p.CIDR, ":") {
			continue
		}
		row := Row{Subject: "pool " + p.Name, Want: want, Got: modes(p.IPIPMode, p.VXLANMode)}
		switch {
		case !carries(o.Backend, p):
			row.Broken = true
			row.Fix = fmt.Sprintf("calico_backend %q does not carry %s: cross-node pod traffic is dropped; %s", o.Backend, row.Got, migrationFix(d, p, o.Backend))
		case row.Got != want && family(p) != family(poolOf(e)):
			row.Fix = migrationFix(d, p, o.Backend)
		case row.Got != want:
			row.Patch = &PoolPatch{Pool: p.Name, From: row.Got, IPIPMode: e.IPIPMode, VXLANMode: e.VXLANMode}
			row.Fix = "Calico changes this live: pulumi up patches it once calico-node has rolled out (server-side apply, field manager " + FieldManager +
				", its preview shows the patch); by hand: " + patchPool(p.Name, e.IPIPMode, e.VXLANMode) +
				" (calico-node reads " + EnvPoolIPIP + "/" + EnvPoolVXLAN + " only when it creates the pool)"
		}
		row.OK = row.Fix == ""
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		rows = append(rows, Row{Subject: "ippools", Want: "an enabled IPv4 pool", Got: fmt.Sprintf("%d pools, none enabled for IPv4", len(o.Pools)),
			Fix: "calico-node creates " + DefaultPoolName + " at its first start: see kubectl -n kube-system logs ds/calico-node"})
	}
	return rows
}

func backendRow(e Expected, o Observed) Row {
	row := Row{Subject: "calico-config " + BackendKey, Want: e.Backend, Got: orNone(o.Backend)}
	if o.Backend != e.Backend {
		row.Fix = "kops writes it from the cluster spec's encapsulationMode: kops update cluster --yes (and let calico-node roll)"
	}
	return row
}

func rolloutRow(r Rollout) Row {
	row := Row{Subject: "daemonset " + DaemonSetName, Want: "rolled out"}
	switch {
	case !r.Found:
		row.Got = "not found"
		row.Fix = "kops installs calico-node in " + Namespace + ": kops update cluster --yes"
	case !r.Done():
		row.Got = fmt.Sprintf("%d of %d updated, %d available (generation %d, observed %d)", r.Updated, r.Desired, r.Available, r.Generation, r.ObservedGeneration)
		row.Fix = "wait for it (kubectl -n " + Namespace + " rollout status ds/" + DaemonSetName + "): until then some nodes run the previous configuration"
	default:
		row.Got = fmt.Sprintf("%d of %d updated and available", r.Updated, r.Desired)
	}
	return row
}

// carries says whether a backend routes a pool's traffic across nodes:
// IP-in-IP and unencapsulated routes need BIRD's BGP; the vxlan backend
// (no BIRD) carries VXLAN only, and BIRD runs beside VXLAN too.
func carries(backend string, p Pool) bool {
	switch backend {
	case BackendBIRD:
		return true
	case BackendVXLAN:
		return mode(p.IPIPMode) == ModeNever && mode(p.VXLANMode) != ModeNever
	}
	return false
}

// family is the pool's overlay: ipip, vxlan, none, or both.
func family(p Pool) string {
	ipip, vxlan := mode(p.IPIPMode) != ModeNever, mode(p.VXLANMode) != ModeNever
	switch {
	case ipip && vxlan:
		return "both"
	case ipip:
		return string(config.EncapIPIP)
	case vxlan:
		return string(config.EncapVXLAN)
	}
	return "none"
}

func poolOf(e Expected) Pool { return Pool{IPIPMode: e.IPIPMode, VXLANMode: e.VXLANMode} }

func modes(ipip, vxlan string) string {
	return "ipipMode=" + mode(ipip) + " vxlanMode=" + mode(vxlan)
}

func patchPool(name, ipip, vxlan string) string {
	return fmt.Sprintf(`kubectl patch ippools.%s %s --type=merge -p '{"spec":{"ipipMode":"%s","vxlanMode":"%s"}}'`, CalicoGroup, name, ipip, vxlan)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// String renders the report in aligned columns, each differing row
// followed by its fix.
func (r Report) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CALICO\tWANT\tGOT\t")
	for _, row := range r.Rows {
		mark := ""
		switch {
		case row.Broken:
			mark = "<- broken"
		case !row.OK:
			mark = "<- differs"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", row.Subject, row.Want, row.Got, mark)
	}
	w.Flush()
	for _, row := range r.Differing() {
		fmt.Fprintf(&b, "fix %s: %s\n", row.Subject, row.Fix)
	}
	return b.String()
}

// Summary is the stack output: subject -> "ok: <got>", or what differs and
// its fix.
func (r Report) Summary() map[string]string {
	out := make(map[string]string, len(r.Rows))
	for _, row := range r.Rows {
		switch {
		case row.OK:
			out[row.Subject] = "ok: " + row.Got
		case row.Broken:
			out[row.Subject] = fmt.Sprintf("BROKEN: %s, want %s; fix: %s", row.Got, row.Want, row.Fix)
		default:
			out[row.Subject] = fmt.Sprintf("%s, want %s; fix: %s", row.Got, row.Want, row.Fix)
		}
	}
	return out
}

// Subjects are the report's subjects, sorted.
func (r Report) Subjects() []string {
	out := make([]string, 0, len(r.Rows))
	for _, row := range r.Rows {
		out = append(out, row.Subject)
	}
	sort.Strings(out)
	return out
}
