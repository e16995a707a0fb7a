// Package fakeaws is AWS on loopback for running real kops offline: one
// HTTP endpoint answers every AWS service kops's SDK calls (told apart by
// the service in the SigV4 credential scope), and an HTTPS proxy with its
// own CA stands in for the internet kops reads (its channel, asset hashes).
//
// Read-only calls get an account with no resources in it (empty describes,
// "no such entity" for single reads) plus the few things every region has:
// regions, zones, public images, instance types, the caller's identity, and
// the Route53 zones a test adds. Every other call is recorded and refused,
// so a dry run that mutates shows up in Calls; but S3 objects, which the
// fake keeps with S3's conditional writes (s3.go).
package fakeaws

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Account is the AWS account the fake's caller belongs to.
const Account = "123456789012"

// Call is one AWS API request the fake answered.
type Call struct {
	Service string     // SigV4 signing name: ec2, iam, sts, autoscaling, elasticloadbalancing, route53, sqs, events, ssm, s3
	Action  string     // API operation, e.g. DescribeVpcs
	Params  url.Values // query parameters, or the JSON body as "body"
	Refused bool       // not a read: answered with an error
}

func (c Call) String() string { return c.Service + ":" + c.Action }

// Server is a running fake.
type Server struct {
	api   *httptest.Server
	proxy *webProxy
	dir   string

	mu          sync.Mutex
	calls       []Call
	hostedZones []hostedZone
	groups      []AutoScalingGroup
	objects     map[string]s3Object // S3, by bucket/key
}

// Start starts the fake; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{dir: t.TempDir()}
	s.api = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	t.Cleanup(s.api.Close)
	p, err := newWebProxy(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	s.proxy = p
	t.Cleanup(p.Close)
	return s
}

// URL is the AWS endpoint (AWS_ENDPOINT_URL).
func (s *Server) URL() string { return s.api.URL }

// Env is what a process needs to reach only this fake: static credentials,
// the endpoint for every service, no instance metadata, no shared config
// files, and the proxy plus CA for HTTPS. Values are complete (an empty
// value clears a variable the caller's environment may hold).
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":                   "AKIDFAKEAWS",
		"AWS_SECRET_ACCESS_KEY":               "fakeaws-secret",
		"AWS_SESSION_TOKEN":                   "",
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     filepath.Join(s.dir, "aws-config-absent"),
		"AWS_SHARED_CREDENTIALS_FILE":         filepath.Join(s.dir, "aws-credentials-absent"),
		"AWS_ENDPOINT_URL":                    s.api.URL,
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_CA_BUNDLE":                       "",
		"HTTPS_PROXY":                         s.proxy.URL(),
		"HTTP_PROXY":                          s.proxy.URL(),
		"https_proxy":                         s.proxy.URL(),
		"http_proxy":                          s.proxy.URL(),
		"NO_PROXY":                            "",
		"no_proxy":                            "",
		"SSL_CERT_FILE":                       s.proxy.caFile,
		"SSL_CERT_DIR":                        s.proxy.emptyDir,
	}
}

// CA is the PEM certificate and private key files of the CA the proxy
// signs its hosts' certificates with: installed as a cluster's CA (`kops
// create keypair kubernetes-ca --cert --key`), kops trusts the cluster API
// ServeClusterAPI stands up.
func (s *Server) CA() (certFile, keyFile string) { return s.proxy.caFile, s.proxy.caKeyFile }

// ServeClusterAPI makes the Kubernetes API of kops cluster name answer at
// https://api.<name> (and as api.internal.<name>, the name kops checks its
// certificate against): a cluster with no nodes and no pods.
func (s *Server) ServeClusterAPI(name string) {
	s.proxy.addAPI("api."+name, "api.internal."+name)
}

// ServeWebFile makes https URL u (e.g. a kops channel) answer with content.
func (s *Server) ServeWebFile(u string, content []byte) { s.proxy.setFile(u, content) }

// WebRequests are the URLs fetched through the proxy, with the status given.
func (s *Server) WebRequests() []WebRequest { return s.proxy.requests() }

// Calls are the AWS requests answered so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded requests (AWS and web).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
	s.proxy.reset()
}

// Refused are the recorded calls that were not reads.
func (s *Server) Refused() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Refused {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

// isRead reports whether an operation only reads, by AWS's naming.
func isRead(action string) bool {
	for _, p := range []string{"Describe", "List", "Get", "Lookup", "Search"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// signingScope is the region and service of a SigV4-signed request.
func signingScope(r *http.Request) (region, service string) {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return "", ""
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
	if len(parts) < 5 {
		return "", ""
	}
	return parts[2], parts[3]
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	region, service := signingScope(r)
	body, _ := io.ReadAll(r.Body)
	req := &apiRequest{region: region, service: service, r: r, body: body}
	switch service {
	case "ec2", "iam", "sts", "autoscaling", "elasticloadbalancing":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.params, req.action = form, form.Get("Action")
	case "sqs", "events", "ssm":
		target := r.Header.Get("X-Amz-Target")
		req.action = target[strings.LastIndex(target, ".")+1:]
		req.params = url.Values{"body": {string(body)}}
	case "route53":
		req.action, req.params = route53Operation(r)
	case "s3":
		s.serveS3(w, r, body)
		return
	default:
		fmt.Fprintf(os.Stderr, "fakeaws: request for unknown service %q: %s %s\n", service, r.Method, r.URL)
		http.Error(w, "fakeaws: unknown service "+service, http.StatusBadRequest)
		return
	}
	call := Call{Service: service, Action: req.action, Params: req.params}
	if !isRead(req.action) {
		call.Refused = true
		s.record(call)
		req.fail(w, http.StatusForbidden, "UnauthorizedOperation", "fakeaws answers read-only calls only, not "+req.action)
		return
	}
	s.record(call)
	s.answer(w, req)
}

// answer writes the response to a read: the service's known answers, else
// an empty one.
func (s *Server) answer(w http.ResponseWriter, req *apiRequest) {
	switch req.service {
	case "ec2":
		if req.action == "DescribeInstances" {
			req.ok(w, s.instancesAnswer(req))
			return
		}
		if body, ok := ec2Answer(req); ok {
			req.ok(w, body)
			return
		}
	case "autoscaling":
		if body, ok := s.autoscalingAnswer(req); ok {
			req.ok(w, body)
			return
		}
	case "sts":
		if req.action == "GetCallerIdentity" {
			req.ok(w, el("Arn", "arn:aws:iam::"+Account+":user/fakeaws")+el("UserId", "AIDAFAKEAWS")+el("Account", Account))
			return
		}
	case "iam":
		// A single read of a named entity (GetRole, GetInstanceProfile,
		// GetRolePolicy, ...) finds nothing in an empty account.
		if strings.HasPrefix(req.action, "Get") {
			req.fail(w, http.StatusNotFound, "NoSuchEntity", "The entity "+req.params.Get("RoleName")+req.params.Get("InstanceProfileName")+" cannot be found.")
			return
		}
	case "sqs":
		if req.action == "GetQueueUrl" {
			w.Header().Set("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")
			req.fail(w, http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
			return
		}
	case "ssm":
		if req.action == "GetParameter" {
			req.fail(w, http.StatusBadRequest, "ParameterNotFound", "")
			return
		}
	case "route53":
		s.answerRoute53(w, req)
		return
	}
	req.ok(w, "")
}
