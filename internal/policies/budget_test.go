package policies

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

const denyAll = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns-1}\nspec: {podSelector: {}}\n"

func TestLoadRefusesFilesOver1MiB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := "# " + strings.Repeat("x", 1021) + "\n" // 1 KiB
	testfs.Write(t, filepath.Join(dir, "ns-1", "full.yaml"), strings.Repeat(line, 1024))
	if _, err := Load(dir); err != nil {
		t.Fatalf("Load refused a file of exactly 1 MiB: %v", err)
	}
	big := filepath.Join(dir, "ns-1", "big.yaml")
	testfs.Write(t, big, strings.Repeat(line, 1024)+"\n")
	_, err := Load(dir)
	if want := strconv.Quote(big) + ": over 1 MiB, more than a policy file may hold; split it into smaller files"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

// growingFS lists a small file that, once opened, never ends: a file that
// grows between the size check and the read.
type growingFS struct {
	fstest.MapFS
	read *int
}

func (g growingFS) Open(name string) (fs.File, error) {
	f, err := g.MapFS.Open(name)
	if err != nil || !strings.HasSuffix(name, ".yaml") {
		return f, err
	}
	return endlessFile{f, g.read}, nil
}

type endlessFile struct {
	fs.File
	read *int
}

func (e endlessFile) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	*e.read += len(p)
	return len(p), nil
}

func TestLoadStopsReadingAGrowingFile(t *testing.T) {
	t.Parallel()
	read := 0
	fsys := growingFS{fstest.MapFS{"ns-1/deny.yaml": {Data: []byte(denyAll)}}, &read}
	_, err := load(fsys, "policies")
	if want := `"policies/ns-1/deny.yaml": over 1 MiB`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	if read > 2*maxFileSize {
		t.Errorf("read %d bytes of a growing file, want about %d", read, maxFileSize)
	}
}

// aliasBomb is a NetworkPolicy file of 75 KB whose aliases, expanded, are
// 14000 copies of a 32 KiB string: 459 MB.
func aliasBomb() []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bomb\n  namespace: ns-1\n  annotations:\n    a: &a \"")
	b.WriteString(strings.Repeat("x", 32<<10))
	b.WriteString("\"\nspec:\n  podSelector: {}\n  policyTypes: [")
	for i := range 14000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("*a")
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// TestLoadRefusesAliasBomb is not parallel: it measures the memory the
// process allocates while loading.
func TestLoadRefusesAliasBomb(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ns-1", "bomb.yaml")
	testfs.Write(t, file, string(aliasBomb()))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Load(dir)
	took := time.Since(start)
	runtime.ReadMemStats(&after)

	if want := strconv.Quote(file) + ": line 7: YAML anchor &a: anchors and aliases are not accepted"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("alias bomb of %d bytes refused in %s, %d KiB allocated", len(aliasBomb()), took, allocated>>10)
	if allocated > 16<<20 || took > time.Second {
		t.Errorf("refusing the alias bomb took %s and %d MiB; want under 1s and 16 MiB (the aliases must not be expanded)", took, allocated>>20)
	}
}

func TestLoadAnnotationsBudget(t *testing.T) {
	t.Parallel()
	withAnnotation := func(size int) string {
		return strings.Replace(denyAll, "namespace: ns-1}", "namespace: ns-1, annotations: {k: "+strings.Repeat("v", size-1)+"}}", 1)
	}
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "ns-1", "deny.yaml"), withAnnotation(256<<10))
	if _, err := Load(dir); err != nil {
		t.Fatalf("Load refused annotations of exactly 256 KiB: %v", err)
	}
	testfs.Write(t, filepath.Join(dir, "ns-1", "deny.yaml"), withAnnotation(256<<10+1))
	_, err := Load(dir)
	if want := "metadata.annotations hold 262145 bytes, over the API server's limit of 262144 (256 KiB)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

// A name holding a newline is quoted in messages: it cannot print a line
// that reads as a message of its own.
func TestLoadQuotesPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "ns-1", "a\nb.yaml"), "kind: Secret\napiVersion: v1\n")
	testfs.Write(t, filepath.Join(dir, "ns\n2", "deny.yaml"), denyAll)
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load accepted bad files")
	}
	for _, w := range []string{
		strconv.Quote(filepath.Join(dir, "ns-1", "a\nb.yaml")) + `: kind "Secret" is not allowed here`,
		strconv.Quote(filepath.Join(dir, "ns\n2")) + `: folder name "ns\n2" is not a namespace name`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, strconv.Quote(dir)[:len(strconv.Quote(dir))-1]) {
			t.Errorf("a message line does not start with the quoted folder: %q", line)
		}
	}
}

// The top folder is held to the rule of every folder in it: a symbolic link
// is refused, not followed.
func TestLoadRefusesSymlinkedTopFolder(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "policies")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{link, link + "/"} {
		_, err := Load(dir)
		if want := strconv.Quote(link) + ": a symbolic link, which is not followed"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q): error %v, want %q", dir, err, want)
		}
	}
	file := testfs.Temp(t, "policies", "")
	if _, err := Load(file); err == nil || !strings.Contains(err.Error(), strconv.Quote(file)+": not a folder") {
		t.Errorf("Load(a file): error %v, want not a folder", err)
	}
}

// The top of the tree holds namespace folders and notes: the loader's own Go
// files and testdata, which lived there once, are no exceptions.
func TestLoadTopHoldsOnlyFoldersAndNotes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "README.md"), "# notes\n")
	testfs.Write(t, filepath.Join(dir, "testdata", "deny.yaml"), strings.Replace(denyAll, "ns-1", "testdata", 1))
	testfs.Write(t, filepath.Join(dir, "load.go"), "package policies\n")
	_, err := Load(dir)
	if want := strconv.Quote(filepath.Join(dir, "load.go")) + ": the top of " + strconv.Quote(dir) + " holds only namespace folders, _cluster and notes"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	testfs.Remove(t, filepath.Join(dir, "load.go"))
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Folders) != 1 || set.Folders[0] != "testdata" || len(set.PoliciesIn("testdata")) != 1 {
		t.Errorf("testdata is a namespace folder like any other: folders %v, policies %+v", set.Folders, set.Policies)
	}
}

func TestLoadRefusesFilesOver1000Documents(t *testing.T) {
	t.Parallel()
	doc := func(i int) string { return strings.Replace(denyAll, "name: deny", "name: deny-"+strconv.Itoa(i), 1) }
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(doc(i) + "---\n")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ns-1", "many.yaml")
	testfs.Write(t, file, b.String())
	if set, err := Load(dir); err != nil || len(set.Policies) != 1000 {
		t.Fatalf("Load of 1000 documents: %v", err)
	}
	testfs.Write(t, file, b.String()+doc(1000))
	_, err := Load(dir)
	if want := strconv.Quote(file) + ": over 1000 YAML documents, more than a policy file may hold; split it into smaller files"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

// A file with thousands of problems lists the first 100 lines of them.
func TestLoadShowsAHundredProblemsPerFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "ns-1", "ports.yaml")
	testfs.Write(t, file, strings.Replace(denyAll, "spec: {podSelector: {}}", "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n"+strings.Repeat("    - port: 0\n", 5000), 1))
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load accepted 5000 bad ports")
	}
	lines := strings.Split(err.Error(), "\n")
	if want := strconv.Quote(file) + ": 4900 more problems not shown; fix the ones above first"; len(lines) != 101 || lines[100] != want ||
		!strings.HasPrefix(lines[99], strconv.Quote(file)+": spec.ingress[0].ports[99].port 0 is invalid") {
		t.Errorf("%d lines, the last two %q, want 100 problems then %q", len(lines), lines[len(lines)-2:], want)
	}
}
