package fakeaws

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kopscalico/kopscalico/internal/testing/pkitest"
)

// WebRequest is one URL fetched through the proxy.
type WebRequest struct {
	URL    string
	Status int
}

// internetHosts are the hosts the proxy stands in for: where kops reads its
// channel and asset hashes, and the registries it asks for image digests
// (answered 404; kops then keeps the tag). Any other host is unreachable.
var internetHosts = map[string]bool{
	"raw.githubusercontent.com": true, "artifacts.k8s.io": true, "dl.k8s.io": true, "github.com": true,
	"registry.k8s.io": true, "public.ecr.aws": true, "index.docker.io": true, "quay.io": true, "ghcr.io": true,
}

// webProxy is an HTTP proxy that answers every request itself: plain HTTP
// by absolute URL, HTTPS by CONNECT, terminating TLS with a certificate for
// the requested host from its own CA. Nothing leaves the machine.
type webProxy struct {
	ln        net.Listener
	srv       *http.Server
	tlsSrv    *http.Server // serves the CONNECTed connections
	tlsConns  *connListener
	caFile    string // PEM of the CA (SSL_CERT_FILE)
	caKeyFile string
	emptyDir  string // SSL_CERT_DIR: no system roots
	ca        *pkitest.KeyPair

	mu    sync.Mutex
	files map[string][]byte   // URL without scheme: host/path
	apis  map[string][]string // cluster API hosts, with their other names
	certs map[string]*tls.Certificate
	reqs  []WebRequest
}

func newWebProxy(dir string) (*webProxy, error) {
	ca, err := pkitest.Issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "fakeaws test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	p := &webProxy{
		caFile: filepath.Join(dir, "fakeaws-ca.pem"), emptyDir: filepath.Join(dir, "no-system-certs"),
		ca: ca, files: map[string][]byte{}, apis: map[string][]string{}, certs: map[string]*tls.Certificate{},
		caKeyFile: filepath.Join(dir, "fakeaws-ca-key.pem"),
	}
	if err := os.WriteFile(p.caFile, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.caKeyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.emptyDir, 0o755); err != nil {
		return nil, err
	}
	p.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	quiet := log.New(io.Discard, "", 0) // clients that give up on a handshake are no news
	p.srv = &http.Server{Handler: p, ErrorLog: quiet}
	go p.srv.Serve(p.ln)
	p.tlsConns = &connListener{conns: make(chan net.Conn), closed: make(chan struct{}), addr: p.ln.Addr()}
	p.tlsSrv = &http.Server{Handler: http.HandlerFunc(p.serveTLS), ErrorLog: quiet}
	go p.tlsSrv.Serve(p.tlsConns)
	return p, nil
}

func (p *webProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *webProxy) Close() { p.srv.Close(); p.tlsSrv.Close() }

func (p *webProxy) addAPI(host string, aliases ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apis[host] = aliases
}

func (p *webProxy) isAPI(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.apis[host]
	return ok
}

func (p *webProxy) serveTLS(w http.ResponseWriter, r *http.Request) {
	if p.isAPI(r.Host) {
		p.serveClusterAPI(w, r)
		return
	}
	p.serveFile(w, r, "https")
}

// serveClusterAPI answers as the API of a cluster with no nodes and no
// pods: empty lists, 404 for the rest.
func (p *webProxy) serveClusterAPI(w http.ResponseWriter, r *http.Request) {
	status, body := http.StatusOK, ""
	switch r.URL.Path {
	case "/api/v1/nodes":
		body = `{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`
	case "/api/v1/pods", "/api/v1/namespaces/kube-system/pods":
		body = `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`
	default:
		status = http.StatusNotFound
		body = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}`
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, WebRequest{URL: "https://" + r.Host + r.URL.Path, Status: status})
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (p *webProxy) setFile(u string, content []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files[strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")] = content
}

func (p *webProxy) requests() []WebRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]WebRequest(nil), p.reqs...)
}

func (p *webProxy) reset() {
	p.mu.Lock()
	p.reqs = nil
	p.mu.Unlock()
}

func (p *webProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	p.serveFile(w, r, "http")
}

// serveFile answers from the files set with ServeWebFile; a hash file
// (.sha256) of any other URL is made up from its URL, so asset lookups
// resolve without the asset.
func (p *webProxy) serveFile(w http.ResponseWriter, r *http.Request, scheme string) {
	key := r.Host + r.URL.Path
	p.mu.Lock()
	body, ok := p.files[key]
	p.mu.Unlock()
	status := http.StatusOK
	switch {
	case ok:
	case strings.HasSuffix(key, ".sha256"):
		h := sha256.Sum256([]byte(strings.TrimSuffix(key, ".sha256")))
		body = []byte(hex.EncodeToString(h[:]) + "\n")
	default:
		status = http.StatusNotFound
		body = []byte("fakeaws: no such file " + key + "\n")
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, WebRequest{URL: scheme + "://" + key, Status: status})
	p.mu.Unlock()
	w.WriteHeader(status)
	w.Write(body)
}

func (p *webProxy) connect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !internetHosts[host] && !p.isAPI(host) {
		p.mu.Lock()
		p.reqs = append(p.reqs, WebRequest{URL: "https://" + r.Host, Status: http.StatusBadGateway})
		p.mu.Unlock()
		http.Error(w, "fakeaws: no route to "+host, http.StatusBadGateway)
		return
	}
	cert, err := p.certFor(host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	fmt.Fprint(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	tc := tls.Server(&bufferedConn{Conn: conn, r: buf.Reader}, &tls.Config{Certificates: []tls.Certificate{*cert}})
	select {
	case p.tlsConns.conns <- tc:
	case <-p.tlsConns.closed:
		conn.Close()
	}
}

func (p *webProxy) certFor(host string) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.certs[host]; ok {
		return c, nil
	}
	leaf, err := pkitest.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: host},
		DNSNames:    append([]string{host}, p.apis[host]...),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.ca, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{leaf.Cert.Raw}, PrivateKey: leaf.Key}
	p.certs[host] = c
	return c, nil
}

// bufferedConn reads what the proxy's HTTP reader already buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener is the listener of the HTTPS side: connect hands it the
// TLS connections it terminated.
type connListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error { l.once.Do(func() { close(l.closed) }); return nil }

func (l *connListener) Addr() net.Addr { return l.addr }
