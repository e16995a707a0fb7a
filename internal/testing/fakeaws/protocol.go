package fakeaws

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// apiRequest is one AWS request, decoded far enough to answer it in its
// service's protocol.
type apiRequest struct {
	region, service, action string
	params                  url.Values
	r                       *http.Request
	body                    []byte
}

const requestID = "fakeaws-0000-0000-0000-000000000000"

// ok writes a successful answer whose payload is the XML fragment body
// (JSON protocols: an empty object).
func (q *apiRequest) ok(w http.ResponseWriter, body string) {
	switch q.service {
	case "ec2": // ec2 query protocol: no Result wrapper, lowerCamel requestId
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>%s</requestId>%s</%sResponse>`,
			q.action, requestID, body, q.action)
	case "sqs":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		fmt.Fprint(w, "{}")
	case "events", "ssm":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, "{}")
	case "route53": // rest-xml: the payload is the whole document
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">%s</%sResponse>`, q.action, body, q.action)
	default: // awsquery: iam, sts, autoscaling, elasticloadbalancing
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<%sResponse><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
			q.action, q.action, body, q.action, requestID, q.action)
	}
}

// fail writes an AWS error in the service's protocol.
func (q *apiRequest) fail(w http.ResponseWriter, status int, code, message string) {
	switch q.service {
	case "ec2":
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			code, escape(message), requestID)
	case "sqs", "events", "ssm":
		ct := "application/x-amz-json-1.1"
		if q.service == "sqs" {
			ct = "application/x-amz-json-1.0"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"__type": code, "message": message})
		w.Write(b)
	default: // awsquery and rest-xml share the ErrorResponse document
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			code, escape(message), requestID)
	}
}

// indexed collects query parameters prefix.1, prefix.2, ... (the query
// protocols' lists).
func indexed(params url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := params[fmt.Sprintf("%s.%d", prefix, i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// filters reads EC2 Filter.N.Name / Filter.N.Value.M parameters.
func filters(params url.Values) map[string][]string {
	out := map[string][]string{}
	for i := 1; ; i++ {
		name := params.Get(fmt.Sprintf("Filter.%d.Name", i))
		if name == "" {
			return out
		}
		out[name] = indexed(params, fmt.Sprintf("Filter.%d.Value", i))
	}
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// el renders <name>children</name>; text children come escaped (escape).
func el(name string, children ...string) string {
	return "<" + name + ">" + strings.Join(children, "") + "</" + name + ">"
}

// items renders a query-protocol list: <name><item>..</item>...</name>.
func items(name string, entries ...string) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(el("item", e))
	}
	return el(name, b.String())
}
