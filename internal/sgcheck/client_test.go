package sgcheck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

func TestNewEC2(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	if _, err := NewEC2(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "region is empty") {
		t.Errorf("empty region: err = %v", err)
	}
	api, err := NewEC2(context.Background(), "eu-west-3")
	if err != nil {
		t.Fatalf("NewEC2: %v", err)
	}
	c, ok := api.(*ec2.Client)
	if !ok {
		t.Fatalf("NewEC2 returned %T, want *ec2.Client", api)
	}
	if got := c.Options().Region; got != "eu-west-3" {
		t.Errorf("region = %q", got)
	}
}
