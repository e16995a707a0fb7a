package sgchecktest

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// APIVersion is the EC2 query-protocol version the SDK sends and the
// handler answers in.
const APIVersion = "2016-11-15"

// Static credentials a client of the handler signs with; requests signed
// with another access key are refused with AuthFailure.
const (
	AccessKeyID     = "AKIDSGCHECKTEST"
	SecretAccessKey = "sgchecktest-secret"
)

// Request is one HTTP request the handler received.
type Request struct {
	Action string
	Region string // from the signature's credential scope
	Form   url.Values
}

// Handler serves a FakeEC2 over EC2's query protocol, as the real SDK client
// speaks it: form-encoded POST, XML answers in the 2016-11-15 namespace, EC2
// XML errors. It answers DescribeSecurityGroups and DescribeInstances with
// the filters and pages the fake applies; every other action gets
// InvalidAction. It records every request, answered or refused.
type Handler struct {
	Fake *FakeEC2

	mu       sync.Mutex
	requests []Request
}

// NewHandler serves f.
func NewHandler(f *FakeEC2) *Handler { return &Handler{Fake: f} }

// Requests returns the requests received so far.
func (h *Handler) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

// RequestCount returns how many requests were received.
func (h *Handler) RequestCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := h.receive(r)
	var body any
	if err == nil {
		body, err = h.describe(r.Context(), req.Action, req.Form)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := xml.Marshal(body)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	io.WriteString(w, xml.Header)
	w.Write(out)
}

// credentialScope is the Credential part of a SigV4 Authorization header:
// access key / date / region / service.
var credentialScope = regexp.MustCompile(`Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request`)

// receive records the request and refuses what EC2 would refuse: a request
// that is not a form POST, an unsigned one or one signed with another key,
// another API version.
func (h *Handler) receive(r *http.Request) (Request, error) {
	body, formErr := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, err := url.ParseQuery(string(body))
	formErr = cmp.Or(formErr, err)
	req := Request{Action: form.Get("Action"), Form: form}
	scope := credentialScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if scope != nil {
		req.Region = scope[2]
	}
	h.mu.Lock()
	h.requests = append(h.requests, req)
	h.mu.Unlock()

	switch {
	case r.Method != http.MethodPost || formErr != nil:
		return req, apiError("InvalidRequest", "sgchecktest takes form-encoded POST requests, got %s: %v", r.Method, formErr)
	case scope == nil || scope[3] != "ec2":
		return req, apiError("AuthFailure", "AWS was not able to validate the provided access credentials (no SigV4 signature for ec2)")
	case scope[1] != AccessKeyID:
		return req, apiError("AuthFailure", "AWS was not able to validate the provided access credentials (access key %s, want sgchecktest.AccessKeyID)", scope[1])
	case form.Get("Version") != APIVersion:
		return req, apiError("NoSuchVersion", "The requested version (%s) of service AmazonEC2 does not exist", form.Get("Version"))
	}
	return req, nil
}

// filterParam is Filter.<n>.Name or Filter.<n>.Value.<m>.
var filterParam = regexp.MustCompile(`^Filter\.([1-9][0-9]*)\.(?:Name|Value\.([1-9][0-9]*))$`)

// describeParams reads the parameters of the describe calls the check makes:
// filters and NextToken. Any other parameter is refused, so a caller the fake
// would answer wrongly (MaxResults, GroupId.N, InstanceId.N) learns it.
func describeParams(form url.Values) ([]types.Filter, *string, error) {
	type value struct {
		m int
		v string
	}
	names := map[int]string{}
	values := map[int][]value{}
	var token *string
	for key, vs := range form {
		m := filterParam.FindStringSubmatch(key)
		switch {
		case key == "Action" || key == "Version":
		case key == "NextToken":
			token = aws.String(vs[0])
		case m == nil:
			return nil, nil, apiError("UnknownParameter", "The parameter %s is not recognized by sgchecktest", key)
		case m[2] == "":
			n, _ := strconv.Atoi(m[1])
			names[n] = vs[0]
		default:
			n, _ := strconv.Atoi(m[1])
			i, _ := strconv.Atoi(m[2])
			values[n] = append(values[n], value{i, vs[0]})
		}
	}
	var filters []types.Filter
	for _, n := range slices.Sorted(maps.Keys(names)) {
		vs := values[n]
		slices.SortFunc(vs, func(a, b value) int { return cmp.Compare(a.m, b.m) })
		f := types.Filter{Name: aws.String(names[n])}
		for _, v := range vs {
			f.Values = append(f.Values, v.v)
		}
		filters = append(filters, f)
	}
	for n := range values {
		if _, ok := names[n]; !ok {
			return nil, nil, apiError("InvalidParameterValue", "Filter.%d has values but no name", n)
		}
	}
	return filters, token, nil
}

// describe answers DescribeSecurityGroups or DescribeInstances from the
// fake; any other action is invalid.
func (h *Handler) describe(ctx context.Context, action string, form url.Values) (any, error) {
	if action != "DescribeSecurityGroups" && action != "DescribeInstances" {
		return nil, apiError("InvalidAction", "The action %s is not valid for this web service (sgchecktest serves DescribeSecurityGroups and DescribeInstances)", action)
	}
	filters, token, err := describeParams(form)
	if err != nil {
		return nil, err
	}
	var e encoder
	var resp any
	if action == "DescribeSecurityGroups" {
		out, err := h.Fake.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters, NextToken: token})
		if err != nil {
			return nil, err
		}
		resp = xmlDescribeSecurityGroupsResponse{RequestID: h.requestID(), SecurityGroups: each(out.SecurityGroups, e.securityGroup), NextToken: out.NextToken}
	} else {
		out, err := h.Fake.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: filters, NextToken: token})
		if err != nil {
			return nil, err
		}
		resp = xmlDescribeInstancesResponse{RequestID: h.requestID(), Reservations: each(out.Reservations, e.reservation), NextToken: out.NextToken}
	}
	return resp, e.err()
}

func (h *Handler) requestID() string {
	return fmt.Sprintf("sgchecktest-%d", h.RequestCount())
}

func apiError(code, format string, args ...any) error {
	return &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorStatus is the HTTP status EC2 answers an error code with.
func errorStatus(code string) int {
	switch code {
	case "AuthFailure":
		return http.StatusUnauthorized
	case "UnauthorizedOperation":
		return http.StatusForbidden
	case "InternalError":
		return http.StatusInternalServerError
	case "Unavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// writeError answers err as EC2 does: an API error with its code, anything
// else as InternalError.
func writeError(w http.ResponseWriter, err error) {
	code, msg := "InternalError", err.Error()
	var api smithy.APIError
	if errors.As(err, &api) {
		code, msg = api.ErrorCode(), api.ErrorMessage()
	}
	out, _ := xml.Marshal(xmlErrorResponse{Errors: []xmlError{{Code: code, Message: msg}}, RequestID: "sgchecktest-error"})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(errorStatus(code))
	io.WriteString(w, xml.Header)
	w.Write(out)
}

var _ http.Handler = (*Handler)(nil)
