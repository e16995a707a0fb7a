package storepolicy

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, js string) Document {
	t.Helper()
	d, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEvaluateFollowsAWSLogic: each row is a rule of AWS's documented
// evaluation logic ("Policy evaluation logic", "Condition operators",
// "Conditions with multiple context keys or values", "IAM JSON policy
// elements: Action / Resource / NotResource").
func TestEvaluateFollowsAWSLogic(t *testing.T) {
	t.Parallel()
	const (
		role  = "arn:aws:iam::111122223333:role/team/app"
		other = "arn:aws:iam::111122223333:role/other"
		obj   = "arn:aws:s3:::b/k/x.txt"
	)
	allowAll := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	deny := func(cond string) Document {
		return mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"],"Condition":`+cond+`}]}`)
	}
	ctx := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name string
		req  Request
		docs []Document
		want Decision
	}{
		{"no statement allows: implicit deny", Request{"s3:GetObject", obj, nil}, nil, ImplicitDeny},
		{"an allow allows", Request{"s3:GetObject", obj, nil}, []Document{allowAll}, Allowed},
		{"action names are case-insensitive", Request{"S3:getobject", obj, nil}, []Document{allowAll}, Allowed},
		{"an explicit deny beats an allow", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", other)},
			[]Document{allowAll, deny(`{"ArnNotEquals":{"aws:PrincipalArn":"` + role + `"}}`)}, ExplicitDeny},
		{"negated operator, the key matches a value: no deny", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", role)},
			[]Document{allowAll, deny(`{"ArnNotEquals":{"aws:PrincipalArn":"` + role + `"}}`)}, Allowed},
		{"negated operator with several values is a NOR", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", role)},
			[]Document{allowAll, deny(`{"ArnNotEquals":{"aws:PrincipalArn":["` + other + `","` + role + `"]}}`)}, Allowed},
		{"negated operator, the key missing: the condition holds", Request{"s3:GetObject", obj, nil},
			[]Document{allowAll, deny(`{"ArnNotEquals":{"aws:PrincipalArn":"` + role + `"}}`)}, ExplicitDeny},
		{"positive operator, the key missing: the condition fails", Request{"s3:GetObject", obj, nil},
			[]Document{allowAll, deny(`{"ArnEquals":{"aws:PrincipalArn":"` + role + `"}}`)}, Allowed},
		{"positive operator with several values is an OR", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", role)},
			[]Document{allowAll, deny(`{"ArnEquals":{"aws:PrincipalArn":["` + other + `","` + role + `"]}}`)}, ExplicitDeny},
		{"ARN wildcards stay within a component", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", role)},
			[]Document{allowAll, deny(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}`)}, Allowed},
		{"ARN wildcard in the last component crosses slashes", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", role)},
			[]Document{allowAll, deny(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`)}, ExplicitDeny},
		{"ArnEquals takes wildcards as ArnLike does", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", "arn:aws:iam::111122223333:role/masters.c.example.com.au")},
			[]Document{allowAll, deny(`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/masters.c.example.com*"}}`)}, ExplicitDeny},
		{"operators are ANDed", Request{"s3:GetObject", obj, ctx("aws:PrincipalArn", other, "aws:SecureTransport", "true")},
			[]Document{allowAll, deny(`{"ArnNotEquals":{"aws:PrincipalArn":"` + role + `"},"Bool":{"aws:SecureTransport":"false"}}`)}, Allowed},
		{"Bool compares the value", Request{"s3:GetObject", obj, ctx("aws:SecureTransport", "false")},
			[]Document{allowAll, deny(`{"Bool":{"aws:SecureTransport":"false"}}`)}, ExplicitDeny},
		{"a resource * crosses slashes", Request{"s3:GetObject", "arn:aws:s3:::b/a/b/c", nil},
			[]Document{allowAll, mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*/c"}]}`)}, ExplicitDeny},
		{"resources are case-sensitive", Request{"s3:GetObject", "arn:aws:s3:::b/K/x.txt", nil},
			[]Document{allowAll, mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k/*"}]}`)}, Allowed},
		{"? is one character", Request{"s3:GetObject", "arn:aws:s3:::b/k1", nil},
			[]Document{allowAll, mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k?"}]}`)}, ExplicitDeny},
		{"an action wildcard", Request{"s3:DeleteObjectVersion", obj, nil},
			[]Document{allowAll, mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject*","Resource":"*"}]}`)}, ExplicitDeny},
		{"NotResource applies to every other resource", Request{"s3:PutObject", obj, nil},
			[]Document{allowAll, mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","NotResource":"arn:aws:s3:::b/k/*"}]}`)}, Allowed},
		{"NotResource, another resource", Request{"s3:PutObject", "arn:aws:s3:::b/j/x", nil},
			[]Document{allowAll, mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","NotResource":"arn:aws:s3:::b/k/*"}]}`)}, ExplicitDeny},
	} {
		got, err := Evaluate(c.req, c.docs...)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestEvaluateRefusesWhatItDoesNotModel: a form outside what storepolicy
// emits is an error, never a silent answer.
func TestEvaluateRefusesWhatItDoesNotModel(t *testing.T) {
	t.Parallel()
	req := Request{"s3:GetObject", "arn:aws:s3:::b/k", map[string]string{}}
	for js, want := range map[string]string{
		`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`:                               `operator "IpAddress"`,
		`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEqualsIfExists":{"k":"v"}}}]}`: `operator "StringEqualsIfExists"`,
		`{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}]}`:                                                                                "exactly one of Action",
		`{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`:                                                                                                                     "exactly one of Resource",
		`{"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}`:                                                                                                      `Effect "Maybe"`,
	} {
		_, err := Evaluate(req, mustParse(t, js))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", js, err, want)
		}
	}
	if _, err := Parse([]byte(`{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"}]}`)); err == nil {
		t.Error("a Principal object parsed: only \"*\" is modelled")
	}
}
