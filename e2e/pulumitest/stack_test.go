package pulumitest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
)

// TestStackRoundTrip needs only the pulumi CLI: config (plain and secret)
// reaches the program, outputs come back with their secrecy, a second
// preview is empty, the exported state holds no plaintext secret, and
// destroy empties the stack.
func TestStackRoundTrip(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-leak"
	program := func(ctx *pulumi.Context) error {
		c := config.New(ctx, "")
		// A component named after the config value: changing it is a
		// replacement the preview must report.
		var thing struct{ pulumi.ResourceState }
		if err := ctx.RegisterComponentResource("roundtrip:index:Thing", c.Require("plain"), &thing); err != nil {
			return err
		}
		ctx.Export("plain", pulumi.String(c.Require("plain")))
		ctx.Export("secret", c.RequireSecret("secret"))
		return nil
	}
	s := pulumitest.New(t, program, pulumitest.Config{
		"roundtrip:plain":  pulumitest.Plain("hello"),
		"roundtrip:secret": pulumitest.Secret(secret),
	}, pulumitest.Options{Project: "roundtrip", Tools: []string{}})

	up := s.Up()
	if got := up.Outputs["plain"]; got.Value != "hello" || got.Secret {
		t.Errorf("output plain = %+v, want plaintext hello", got)
	}
	if got := up.Outputs["secret"]; got.Value != secret || !got.Secret {
		t.Errorf("output secret = %+v, want the secret value marked secret", got)
	}
	s.Preview(optpreview.ExpectNoChanges())

	state, err := os.ReadFile(s.ExportState())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(state), secret) {
		t.Errorf("exported state holds the secret in plaintext")
	}
	if !strings.Contains(string(state), "ciphertext") {
		t.Errorf("exported state has no encrypted value; is the secret output there at all?")
	}

	s.SetConfig(pulumitest.Config{"roundtrip:plain": pulumitest.Plain("changed")})
	if _, err := s.TryPreview(optpreview.ExpectNoChanges()); err == nil {
		t.Errorf("preview with changed config and ExpectNoChanges succeeded, want an error")
	}

	s.Destroy()
	if out := s.Outputs(); len(out) != 0 {
		t.Errorf("outputs after destroy = %v, want none", out)
	}
}
