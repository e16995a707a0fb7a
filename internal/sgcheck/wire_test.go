package sgcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// ec2QueryServer speaks the EC2 query protocol: form-encoded POST requests,
// XML answers in the 2016-11-15 namespace. It records each request's form.
type ec2QueryServer struct {
	t        *testing.T
	withIPIP bool

	mu       sync.Mutex
	requests []url.Values
}

func (s *ec2QueryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDWIRETEST/") {
		s.t.Errorf("request not signed with the static test credentials: %q", r.Header.Get("Authorization"))
	}
	s.mu.Lock()
	s.requests = append(s.requests, form)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	switch form.Get("Action") {
	case "DescribeSecurityGroups":
		fmt.Fprint(w, s.securityGroupsXML())
	case "DescribeInstances":
		if form.Get("NextToken") == "" {
			fmt.Fprint(w, instancesPage1XML)
		} else if form.Get("NextToken") == "page-2-token" {
			fmt.Fprint(w, instancesPage2XML)
		} else {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidParameterValue</Code><Message>bad token</Message></Error></Errors><RequestID>r-3</RequestID></Response>`)
		}
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidAction</Code><Message>%s</Message></Error></Errors><RequestID>r-0</RequestID></Response>`, form.Get("Action"))
	}
}

func (s *ec2QueryServer) securityGroupsXML() string {
	ipipRule := ""
	if s.withIPIP {
		ipipRule = `
        <item>
          <ipProtocol>4</ipProtocol>
          <groups><item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60002</groupId></item></groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <securityGroupInfo>
    <item>
      <ownerId>123456789012</ownerId>
      <groupId>sg-0a1b2c3d4e5f60001</groupId>
      <groupName>masters.calico.example.com</groupName>
      <groupDescription>Security group for masters</groupDescription>
      <vpcId>vpc-0123</vpcId>
      <ipPermissions>
        <item>
          <ipProtocol>-1</ipProtocol>
          <groups><item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60001</groupId></item></groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>` + ipipRule + `
        <item>
          <ipProtocol>tcp</ipProtocol><fromPort>1</fromPort><toPort>2379</toPort>
          <groups><item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60002</groupId></item></groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>
        <item>
          <ipProtocol>tcp</ipProtocol><fromPort>2382</fromPort><toPort>4000</toPort>
          <groups><item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60002</groupId></item></groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>
        <item>
          <ipProtocol>tcp</ipProtocol><fromPort>4003</fromPort><toPort>65535</toPort>
          <groups><item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60002</groupId></item></groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>
        <item>
          <ipProtocol>udp</ipProtocol><fromPort>1</fromPort><toPort>65535</toPort>
          <groups><item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60002</groupId></item></groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>
        <item>
          <ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort>
          <groups/>
          <ipRanges><item><cidrIp>203.0.113.0/24</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/>
        </item>
      </ipPermissions>
      <ipPermissionsEgress>
        <item>
          <ipProtocol>-1</ipProtocol><groups/>
          <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/>
        </item>
      </ipPermissionsEgress>
      <tagSet>
        <item><key>KubernetesCluster</key><value>calico.example.com</value></item>
        <item><key>Name</key><value>masters.calico.example.com</value></item>
        <item><key>kubernetes.io/cluster/calico.example.com</key><value>owned</value></item>
      </tagSet>
    </item>
    <item>
      <ownerId>123456789012</ownerId>
      <groupId>sg-0a1b2c3d4e5f60002</groupId>
      <groupName>nodes.calico.example.com</groupName>
      <groupDescription>Security group for nodes</groupDescription>
      <vpcId>vpc-0123</vpcId>
      <ipPermissions>
        <item>
          <ipProtocol>-1</ipProtocol>
          <groups>
            <item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60001</groupId></item>
            <item><userId>123456789012</userId><groupId>sg-0a1b2c3d4e5f60002</groupId></item>
          </groups>
          <ipRanges/><ipv6Ranges/><prefixListIds/>
        </item>
      </ipPermissions>
      <ipPermissionsEgress>
        <item>
          <ipProtocol>-1</ipProtocol><groups/>
          <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/>
        </item>
      </ipPermissionsEgress>
      <tagSet>
        <item><key>KubernetesCluster</key><value>calico.example.com</value></item>
        <item><key>Name</key><value>nodes.calico.example.com</value></item>
      </tagSet>
    </item>
  </securityGroupInfo>
</DescribeSecurityGroupsResponse>`
}

func wireInstanceXML(id, ip, groupID, groupName, eni string) string {
	return `
        <item>
          <instanceId>` + id + `</instanceId>
          <imageId>ami-0123</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateIpAddress>` + ip + `</privateIpAddress>
          <subnetId>subnet-0a</subnetId>
          <vpcId>vpc-0123</vpcId>
          <sourceDestCheck>false</sourceDestCheck>
          <groupSet><item><groupId>` + groupID + `</groupId><groupName>` + groupName + `</groupName></item></groupSet>
          <tagSet><item><key>KubernetesCluster</key><value>calico.example.com</value></item></tagSet>
          <networkInterfaceSet>
            <item>
              <networkInterfaceId>` + eni + `</networkInterfaceId>
              <privateIpAddress>` + ip + `</privateIpAddress>
              <sourceDestCheck>false</sourceDestCheck>
              <status>in-use</status>
              <attachment><attachmentId>eni-attach-1</attachmentId><deviceIndex>0</deviceIndex><status>attached</status></attachment>
            </item>
          </networkInterfaceSet>
        </item>`
}

var instancesPage1XML = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example1</requestId>
  <reservationSet>
    <item>
      <reservationId>r-01</reservationId>
      <ownerId>123456789012</ownerId>
      <instancesSet>` + wireInstanceXML("i-0cp00000000000001", "172.20.32.10", "sg-0a1b2c3d4e5f60001", "masters.calico.example.com", "eni-0cp1") + `
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>page-2-token</nextToken>
</DescribeInstancesResponse>`

var instancesPage2XML = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example2</requestId>
  <reservationSet>
    <item>
      <reservationId>r-02</reservationId>
      <ownerId>123456789012</ownerId>
      <instancesSet>` + wireInstanceXML("i-0n000000000000001", "172.20.33.20", "sg-0a1b2c3d4e5f60002", "nodes.calico.example.com", "eni-0n1") + `
      </instancesSet>
    </item>
  </reservationSet>
</DescribeInstancesResponse>`

func wireClient(srv *httptest.Server) *ec2.Client {
	cfg := aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRETEST", "wire-test-secret", ""),
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
}

// TestCheckOverTheWire runs Check through the real aws-sdk-go-v2 EC2 client
// against a local server answering in EC2's query protocol: request
// encoding, signing, XML decoding and pagination all take their real path.
func TestCheckOverTheWire(t *testing.T) {
	for _, withIPIP := range []bool{true, false} {
		t.Run(fmt.Sprintf("ipip-rule=%v", withIPIP), func(t *testing.T) {
			h := &ec2QueryServer{t: t, withIPIP: withIPIP}
			srv := httptest.NewServer(h)
			defer srv.Close()

			r, err := Check(context.Background(), wireClient(srv), Input{ClusterName: "calico.example.com", Encapsulation: "ipip", AWSSrcDstCheck: "Disable"})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}

			if len(h.requests) != 3 {
				t.Fatalf("server saw %d requests, want 3 (1 DescribeSecurityGroups, 2 DescribeInstances pages)", len(h.requests))
			}
			sg := h.requests[0]
			wantSG := map[string]string{
				"Action": "DescribeSecurityGroups", "Version": "2016-11-15",
				"Filter.1.Name": "tag:KubernetesCluster", "Filter.1.Value.1": "calico.example.com",
				"Filter.2.Name": "group-name", "Filter.2.Value.1": "masters.calico.example.com", "Filter.2.Value.2": "nodes.calico.example.com",
			}
			for k, v := range wantSG {
				if sg.Get(k) != v {
					t.Errorf("DescribeSecurityGroups %s = %q, want %q (form %v)", k, sg.Get(k), v, sg)
				}
			}
			for i, inst := range h.requests[1:] {
				want := map[string]string{
					"Action": "DescribeInstances", "Version": "2016-11-15",
					"Filter.1.Name": "tag:KubernetesCluster", "Filter.1.Value.1": "calico.example.com",
					"Filter.2.Name": "instance-state-name", "Filter.2.Value.1": "running",
				}
				if i == 1 {
					want["NextToken"] = "page-2-token"
				}
				for k, v := range want {
					if inst.Get(k) != v {
						t.Errorf("DescribeInstances #%d %s = %q, want %q", i+1, k, inst.Get(k), v)
					}
				}
			}

			if got := byID(t, r, "srcdst-check-disabled"); !got.OK {
				t.Errorf("srcdst: %+v", got)
			}
			if withIPIP {
				if r.Failed() {
					t.Fatalf("complete cluster fails over the wire:\n%s", r)
				}
				return
			}
			missing := r.Missing()
			if len(missing) != 1 || missing[0].ID != "ipip-nodes-to-control-plane" ||
				missing[0].Group != "masters.calico.example.com (sg-0a1b2c3d4e5f60001)" ||
				!strings.Contains(missing[0].Missing, "from-nodes.calico.example.com-ingress-4-0to0-masters.calico.example.com") {
				t.Fatalf("missing = %+v\n%s", missing, r)
			}
		})
	}
}
