package fakeaws

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type hostedZone struct {
	id, name string // id without the /hostedzone/ prefix; name with its trailing dot
}

// AddHostedZone adds a public Route53 zone (e.g. "example.com") with its NS
// and SOA records, and returns its id.
func (s *Server) AddHostedZone(name string) string {
	name = strings.TrimSuffix(name, ".") + "."
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "Z" + strings.ToUpper(imageID(name)[4:])
	s.hostedZones = append(s.hostedZones, hostedZone{id: id, name: name})
	return id
}

var nameServers = []string{"ns-1.awsdns-01.com", "ns-2.awsdns-02.net", "ns-3.awsdns-03.org", "ns-4.awsdns-04.co.uk"}

// route53Operation names a Route53 REST request after its API operation.
func route53Operation(r *http.Request) (string, url.Values) {
	p := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	params := r.URL.Query()
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) > 1 {
		params.Set("Id", parts[1])
	}
	get := r.Method == http.MethodGet
	switch {
	case get && p == "hostedzone":
		return "ListHostedZones", params
	case get && p == "hostedzonesbyname":
		return "ListHostedZonesByName", params
	case get && p == "hostedzonecount":
		return "GetHostedZoneCount", params
	case get && len(parts) == 2 && parts[0] == "hostedzone":
		return "GetHostedZone", params
	case get && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		return "ListResourceRecordSets", params
	case get && parts[0] == "change":
		return "GetChange", params
	case get && parts[0] == "tags":
		return "ListTagsForResource", params
	case get:
		return "Get" + parts[0], params
	case len(parts) == 3 && parts[2] == "rrset":
		return "ChangeResourceRecordSets", params
	}
	return r.Method + " " + p, params
}

func zoneXML(z hostedZone) string {
	return el("HostedZone", el("Id", "/hostedzone/"+z.id)+el("Name", z.name)+el("CallerReference", "fakeaws-"+z.id)+
		el("Config", el("PrivateZone", "false"))+el("ResourceRecordSetCount", "2"))
}

func (s *Server) answerRoute53(w http.ResponseWriter, q *apiRequest) {
	s.mu.Lock()
	zs := append([]hostedZone(nil), s.hostedZones...)
	s.mu.Unlock()
	var list strings.Builder
	for _, z := range zs {
		list.WriteString(zoneXML(z))
	}
	var zone *hostedZone
	for i := range zs {
		if zs[i].id == q.params.Get("Id") {
			zone = &zs[i]
		}
	}
	if zone == nil && (q.action == "GetHostedZone" || q.action == "ListResourceRecordSets") {
		q.fail(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+q.params.Get("Id"))
		return
	}
	switch q.action {
	case "ListHostedZones":
		q.ok(w, el("HostedZones", list.String())+el("IsTruncated", "false")+el("MaxItems", "100")+el("Marker", ""))
	case "ListHostedZonesByName":
		q.ok(w, el("HostedZones", list.String())+el("IsTruncated", "false")+el("MaxItems", "100"))
	case "GetHostedZone":
		var ns strings.Builder
		for _, n := range nameServers {
			ns.WriteString(el("NameServer", n))
		}
		q.ok(w, zoneXML(*zone)+el("DelegationSet", el("NameServers", ns.String())))
	case "ListResourceRecordSets":
		var ns strings.Builder
		for _, n := range nameServers {
			ns.WriteString(el("ResourceRecord", el("Value", n+".")))
		}
		sets := el("ResourceRecordSet", el("Name", zone.name)+el("Type", "NS")+el("TTL", "172800")+el("ResourceRecords", ns.String())) +
			el("ResourceRecordSet", el("Name", zone.name)+el("Type", "SOA")+el("TTL", "900")+
				el("ResourceRecords", el("ResourceRecord", el("Value", nameServers[0]+". awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"))))
		q.ok(w, el("ResourceRecordSets", sets)+el("IsTruncated", "false")+el("MaxItems", "300"))
	case "GetHostedZoneCount":
		q.ok(w, el("HostedZoneCount", strconv.Itoa(len(zs))))
	default:
		q.ok(w, "")
	}
}
