package probe

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/reachability"
)

// Outcome is what a probe saw, or should see.
type Outcome string

const (
	Allowed Outcome = "allowed" // the connection was made (any HTTP answer)
	Blocked Outcome = "blocked" // every attempt timed out: packets dropped
	// Failed is neither: DNS failure, connection refused (a Service without
	// endpoints), anything else. It never matches an expectation, so a probe
	// cannot pass by accident because the target is down.
	Failed Outcome = "error"
)

// Source is a pod a probe impersonates: the probe pod runs in Namespace with
// exactly Labels, so the policies select it as they select that pod.
type Source struct {
	Name      string            `json:"name"` // short name used in the probe name: busybox, stranger
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

// Ref is the source's pod reference, "namespace/probe-<name>": the pod the
// expectation function is asked about.
func (s Source) Ref() string { return s.Namespace + "/" + PodName(s) }

// PodName is the name the source's pod has in the reachability model.
func PodName(s Source) string { return "probe-" + s.Name }

// Target is a Service a probe connects to, and the workload behind it.
type Target struct {
	Name      string `json:"name"` // short name used in the probe name: http-echo
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"` // "namespace/name" of the pod behind the Service, as the expectation function knows it
	Host      string `json:"host"`     // the Service's DNS name
	Port      int    `json:"port"`     // the Service port the probe connects to
	PodPort   int    `json:"podPort"`  // the container port the Service forwards to: what policies see
	Protocol  string `json:"protocol"` // TCP
	// PodLabels select the workload's pods: what a probe's placement is
	// relative to.
	PodLabels map[string]string `json:"podLabels,omitempty"`
}

// URL is what the probe requests.
func (t Target) URL() string { return fmt.Sprintf("http://%s:%d/", t.Host, t.Port) }

// Address is the target as the table shows it (with /UDP for UDP).
func (t Target) Address() string {
	if t.Protocol == string(corev1.ProtocolUDP) {
		return fmt.Sprintf("%s:%d/UDP", t.Host, t.Port)
	}
	return fmt.Sprintf("%s:%d", t.Host, t.Port)
}

// Expect decides whether the policies allow a connection from pod from to pod
// to ("namespace/name") on port/proto (the destination pod's port, after the
// Service's translation). It is the one place expected verdicts come from;
// the reachability evaluator computes it from the manifests.
type Expect func(from, to string, port int, proto string) (bool, error)

// Probe is one connection to try and its expected outcome. Its JSON form is
// how the program hands the plan to the plugin's ProbeVerdicts.
type Probe struct {
	Name   string  `json:"name"` // also the Job's name
	From   Source  `json:"from"`
	To     Target  `json:"to"`
	Expect Outcome `json:"expect"`
	// Placement pins the probe's pod relative to its target's (Place).
	Placement Placement `json:"placement,omitempty"`
}

// Plan returns one probe per source and target, sorted by name, each with the
// outcome expect predicts.
func Plan(expect Expect, sources []Source, targets []Target) ([]Probe, error) {
	var probes []Probe
	seen := map[string]bool{}
	for _, s := range sources {
		for _, t := range targets {
			name := fmt.Sprintf("probe-%s-to-%s", s.Name, t.Name)
			if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
				return nil, fmt.Errorf("probe %q: not a valid Job name: %s", name, strings.Join(msgs, "; "))
			}
			if seen[name] {
				return nil, fmt.Errorf("probe %q is planned twice: source and target names must be unique", name)
			}
			seen[name] = true
			ok, err := expect(s.Ref(), t.Workload, t.PodPort, t.Protocol)
			if err != nil {
				return nil, fmt.Errorf("expected verdict of %s: %w", name, err)
			}
			want := Blocked
			if ok {
				want = Allowed
			}
			probes = append(probes, Probe{Name: name, From: s, To: t, Expect: want})
		}
	}
	sort.Slice(probes, func(i, j int) bool { return probes[i].Name < probes[j].Name })
	return probes, nil
}

// DemoSources are the pods the probes impersonate in the demo namespace: the
// busybox client the policies let in, and a stranger they must keep out.
func DemoSources(namespace string) []Source {
	return []Source{
		{Name: demo.ClientName, Namespace: namespace, Labels: demo.ClientLabels()},
		{Name: "stranger", Namespace: namespace, Labels: map[string]string{demo.LabelKey: "stranger"}},
	}
}

// DemoTargets is the demo's http-echo Service.
func DemoTargets(namespace string) []Target {
	return []Target{{
		Name:      demo.EchoName,
		Namespace: namespace,
		Workload:  namespace + "/" + demo.EchoName,
		Host:      demo.EchoHost(namespace),
		Port:      demo.EchoPort,
		PodPort:   demo.EchoContainer,
		Protocol:  string(corev1.ProtocolTCP),
		PodLabels: demo.EchoLabels(),
	}}
}

// DNSTarget is the cluster DNS on UDP 53 (kops's CoreDNS, k8s-app=kube-dns
// in kube-system, the reachability model's DNS pod): the egress policies
// must leave open for any name to resolve.
func DNSTarget() Target {
	return Target{
		Name:      reachability.DNSPod.Name,
		Namespace: reachability.DNSNamespace,
		Workload:  reachability.DNSNamespace + "/" + reachability.DNSPod.Name,
		Host:      fmt.Sprintf("%s.%s.svc.%s", reachability.DNSPod.Name, reachability.DNSNamespace, demo.ClusterDomain),
		Port:      53,
		PodPort:   53,
		Protocol:  string(corev1.ProtocolUDP),
		PodLabels: maps.Clone(reachability.DNSLabels),
	}
}

// Job settings.
const (
	// Attempts: a pod's policy may be programmed a moment after it starts;
	// one success among the attempts counts as allowed.
	Attempts       = 3
	TimeoutSeconds = 3 // wget -T: connect and read timeout of each attempt
	// DeadlineSeconds bounds a probe pod that cannot start its work.
	DeadlineSeconds = 120
	// RevisionAnnotation on the pod template carries the caller's revision
	// (a digest of what the probes prove): when it changes the Job template
	// changes, the Job is replaced, and the probes run again.
	RevisionAnnotation = "kopscalico.io/probe-revision"
	// ResultPrefix starts the verdict line a probe prints.
	ResultPrefix = "PROBE"
)

// Job renders the Job that runs probe p in its source's namespace, with its
// source's labels, and prints one verdict line (see ParseResult). It always
// exits 0: the verdict is in the log, and a failed pod would fail `up` before
// the comparison could say what differed.
//
// No ttlSecondsAfterFinished: Pulumi owns the Job. A TTL would delete it
// behind Pulumi's back, and the next refresh would recreate it and run the
// probes again, forever. The Job stays until the revision changes (the Job is
// replaced) or the stack is destroyed. Its verdict is read once, after it
// ran, and kept in the state (the plugin's ProbeVerdicts), so the pod may go
// (a node roll, pod garbage collection); while it is there,
// `kubectl logs job/<probe>` shows it.
func Job(p Probe, revision string) batchv1.Job {
	container := corev1.Container{
		Name:            "probe",
		Image:           demo.BusyboxImage,
		Command:         []string{"sh", "-c", Script(p)},
		Resources:       demo.SmallResources(),
		SecurityContext: demo.Restricted(),
	}
	return batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      p.Name,
			Namespace: p.From.Namespace,
			Labels:    map[string]string{"app.kubernetes.io/part-of": "kopscalico-probes"},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To[int64](DeadlineSeconds),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      maps.Clone(p.From.Labels),
					Annotations: map[string]string{RevisionAnnotation: revision},
				},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					Affinity:                     affinity(p),
					Containers:                   []corev1.Container{container},
					AutomountServiceAccountToken: ptr.To(false),
				},
			},
		},
	}
}

// Script is the probe's shell script: a few attempts of one connection, and
// one verdict line at the end. TCP is the tutorial's `wget --post-data`, with
// a timeout: busybox wget reports "download timed out" when -T expires
// (connect or read): the policy dropped the packets; "server returned error"
// means an HTTP answer came back: connected. UDP is a DNS query through the
// pod's resolver (the cluster DNS), read by udpVerdict. Anything else is an
// error, with the command's line saying "refused", else its last, as detail.
func Script(p Probe) string {
	variable, value := "url", p.To.URL()
	attempt := fmt.Sprintf(`wget -q -T %d -O- --post-data "probe=$name" "$url"`, TimeoutSeconds)
	verdictOf := tcpVerdict
	if p.To.Protocol == string(corev1.ProtocolUDP) {
		variable, value = "host", p.To.Host
		attempt = `nslookup "$host"`
		verdictOf = udpVerdict
	}
	return fmt.Sprintf(`name=%s
%s=%s
%s
verdict=error
detail=
i=0
while [ "$i" -lt %d ]; do
  i=$((i + 1))
  if out=$(%s 2>&1); then
    verdict=allowed; detail=; break
  fi
  verdict=$(verdict_of "$out")
  case "$verdict" in
    allowed) detail=; break ;;
    blocked) detail= ;;
    *) detail=$(printf '%%s\n' "$out" | grep -m 1 'refused' || printf '%%s\n' "$out" | tail -n 1) ;;
  esac
  [ "$i" -lt %d ] && sleep 1
done
echo "%s $name $verdict $detail"
`, shellQuote(p.Name), variable, shellQuote(value), verdictOf, Attempts, attempt, Attempts, ResultPrefix)
}

// tcpVerdict is the shell function reading a failed wget's messages.
const tcpVerdict = `verdict_of() {
  case "$1" in
    *"server returned error"*) echo allowed ;;
    *"timed out"*) echo blocked ;;
    *) echo error ;;
  esac
}`

// udpVerdict is the shell function reading a failed nslookup's messages, of
// busybox's two implementations (networking/nslookup.c). From 1.28 busybox
// queries the server itself: "** server can't find <name>: NXDOMAIN" (or
// SERVFAIL, REFUSED) and "*** Can't find <name>: No answer" are answers,
// ";; connection timed out; no servers could be reached" is a drop, and
// "read: Connection refused" (nothing listens) an error, as for TCP. Before,
// it asks libc: "can't resolve '<name>'", with gai_strerror's reason when
// built verbose ("Try again", "Temporary failure in name resolution": a
// timeout; "Name does not resolve", "Name or service not known": an answer),
// and otherwise told apart by the "Server:" block's "Address 1:" line, which
// names the server only when it answered the reverse lookup.
const udpVerdict = `verdict_of() {
  case "$1" in
    *"Connection refused"*) echo error ;;
    *"timed out"*|*"no servers could be reached"*|*"Try again"*|*"Temporary failure in name resolution"*) echo blocked ;;
    *"can't find"*|*"Can't find"*|*NXDOMAIN*|*SERVFAIL*|*REFUSED*|*"Name does not resolve"*|*"Name or service not known"*) echo allowed ;;
    *"can't resolve"*)
      set -- $(printf '%s\n' "$1" | sed -n '/^Address 1:/{p;q;}')
      if [ "$#" -ge 4 ]; then echo allowed; else echo blocked; fi ;;
    *) echo error ;;
  esac
}`

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
