// Package storepolicy builds the kops state store's bucket policy from typed
// inputs, and evaluates IAM policy documents of the forms it emits, so the
// policy is tested by what it decides rather than by how it is spelled.
package storepolicy

import (
	"encoding/json"
	"fmt"
)

// Document is an IAM policy document: a bucket policy, or an identity
// policy (whose statements have no Principal).
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement. Action, Resource and condition values read
// from JSON as a string or a list; they are always written as lists.
type Statement struct {
	Sid         string     `json:"Sid,omitempty"`
	Effect      string     `json:"Effect"`
	Principal   string     `json:"Principal,omitempty"`
	Action      stringList `json:"Action,omitempty"`
	NotAction   stringList `json:"NotAction,omitempty"`
	Resource    stringList `json:"Resource,omitempty"`
	NotResource stringList `json:"NotResource,omitempty"`
	// Condition is operator -> context key -> values.
	Condition map[string]map[string]stringList `json:"Condition,omitempty"`
}

const (
	effectAllow = "Allow"
	effectDeny  = "Deny"
)

// stringList is a JSON string or list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %s", b)
	}
	*l = many
	return nil
}

// Parse reads a policy document from JSON.
func Parse(b []byte) (Document, error) {
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return Document{}, fmt.Errorf("policy document: %w", err)
	}
	return d, nil
}

// JSON is the document as AWS takes it.
func (d Document) JSON() (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}
