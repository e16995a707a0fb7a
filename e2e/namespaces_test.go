package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// TestOwnedNamespaceDeletedOnlyByIntent drives infra.Program against the
// local control plane with ns-1 owned (its folder holds its Namespace, and
// kopscalico:namespaces lists it) and a ConfigMap in ns-1 that the stack does
// not manage, standing for everything else in the namespace:
//
//   - the folder renamed to _ns-1: preview and up are refused by the loader;
//   - renamed to ns-one, files unchanged: refused by the loader (the objects
//     still name ns-1);
//   - renamed to ns-one with its files edited: a new namespace, refused by
//     the namespaces check (ns-1 listed without a folder, ns-one not listed);
//   - the folder removed: refused by the namespaces check, with the fix;
//
// after each, ns-1 and the ConfigMap are still there, not terminating. Only
// with ns-1 removed from the key too does the preview show the Namespace
// deleted, and up deletes it with everything in it.
func TestOwnedNamespaceDeletedOnlyByIntent(t *testing.T) {
	cp := controlplane.Start(t)
	ctx := context.Background()
	policiesDir := filepath.Join(t.TempDir(), "policies")
	testfs.Copy(t, filepath.Join("..", "policies", "ns-1"), filepath.Join(policiesDir, "ns-1"))
	cfg := localClusterConfig(t, cp)
	cfg[config.FullKey(config.KeyPoliciesDir)] = pulumitest.Plain(policiesDir)
	cfg[config.FullKey(config.KeyDemoWorkloads)] = pulumitest.Plain("false")
	s := pulumitest.New(t, infra.Program, cfg)

	s.Up()
	data := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "team-data", Namespace: "ns-1"}, Data: map[string]string{"k": "v"}}
	if _, err := cp.Client.CoreV1().ConfigMaps("ns-1").Create(ctx, data, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stillThere := func(step string) {
		t.Helper()
		ns, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{})
		switch {
		case err != nil:
			t.Fatalf("%s: namespace ns-1: %v", step, err)
		case ns.DeletionTimestamp != nil:
			t.Fatalf("%s: namespace ns-1 is being deleted", step)
		}
		if _, err := cp.Client.CoreV1().ConfigMaps("ns-1").Get(ctx, "team-data", metav1.GetOptions{}); err != nil {
			t.Fatalf("%s: ConfigMap ns-1/team-data: %v", step, err)
		}
	}
	refused := func(step string, want ...string) {
		t.Helper()
		_, perr := s.TryPreview()
		_, uerr := s.TryUp()
		for op, err := range map[string]error{"preview": perr, "up": uerr} {
			if err == nil {
				t.Fatalf("%s: %s accepted", step, op)
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %s error lacks %q:\n%v", step, op, w, err)
				}
			}
		}
		stillThere(step)
	}
	rename := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(policiesDir, from), filepath.Join(policiesDir, to)); err != nil {
			t.Fatal(err)
		}
	}

	rename("ns-1", "_ns-1")
	refused("folder renamed to _ns-1", `folder name "_ns-1" is not a namespace name`)

	rename("_ns-1", "ns-one")
	refused("folder renamed to ns-one, files unchanged", `metadata.name "ns-1" does not match its folder "ns-one"`)

	renamed := filepath.Join(policiesDir, "ns-one")
	entries, err := os.ReadDir(renamed)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f := filepath.Join(renamed, e.Name())
		testfs.Write(t, f, strings.ReplaceAll(testfs.Read(t, f), "ns-1", "ns-one"))
	}
	refused("folder and files renamed to ns-one",
		"kopscalico:namespaces", "lists ns-1, but", "has no ns-1/ folder holding its Namespace",
		"does not list ns-one", "add ns-one to kopscalico:namespaces")
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-one", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace ns-one: err = %v, want NotFound", err)
	}

	if err := os.RemoveAll(renamed); err != nil {
		t.Fatal(err)
	}
	refused("folder removed", `kopscalico:namespaces = "ns-1": lists ns-1, but `+policiesDir+` has no ns-1/ folder holding its Namespace: restore the folder, or remove ns-1 from kopscalico:namespaces to delete the namespace and everything in it`)

	// Both edits: the preview shows ns-1 deleted, and up deletes it.
	s.SetConfig(pulumitest.Config{config.FullKey(config.KeyNamespaces): pulumitest.Plain("")})
	stream := make(chan events.EngineEvent)
	deleted := make(chan []string, 1)
	go func() {
		var names []string
		for e := range stream {
			if pre := e.ResourcePreEvent; pre != nil && pre.Metadata.Op == "delete" {
				names = append(names, pre.Metadata.Type+"::"+pre.Metadata.URN[strings.LastIndex(pre.Metadata.URN, "::")+2:])
			}
		}
		deleted <- names
	}()
	s.Preview(optpreview.EventStreams(stream))
	previewed := <-deleted
	if !slices.Contains(previewed, "kubernetes:core/v1:Namespace::ns-1") || len(previewed) != 4 {
		t.Errorf("preview deletes %v, want the Namespace ns-1 and its 3 policies", previewed)
	}
	stillThere("preview of the deletion")
	assertUpChanges(t, "ns-1 removed from the key", s.Up(), map[string]int{"delete": 4})
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = wait.PollUntilContextCancel(waitCtx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Errorf("namespace ns-1 still exists after the up that deletes it: %v", err)
	}
	s.Destroy()
}
