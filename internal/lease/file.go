package lease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileStore keeps leases in a file:// state store's directory. Create is
// atomic on a local file system (a hard link); Replace and
// Delete compare the content's digest first, which leaves a window of one
// write for a concurrent break, a manual act.
type FileStore struct{ Dir string }

var _ Store = FileStore{}

func (s FileStore) path(key string) string { return filepath.Join(s.Dir, filepath.FromSlash(key)) }

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Create implements Store: the content is written to a temporary file,
// then hard-linked to the key, which fails when the key exists (as an
// O_CREATE|O_EXCL open does) and never shows a half-written lease.
func (s FileStore) Create(_ context.Context, key string, body []byte) (string, error) {
	p := s.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	tmp, err := writeTemp(filepath.Dir(p), body)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); errors.Is(err, fs.ErrExist) {
		return "", ErrExists
	} else if err != nil {
		return "", err
	}
	return digest(body), nil
}

// writeTemp writes body to a new file in dir, readable by all (0644, as
// kops writes a file:// store).
func writeTemp(dir string, body []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Read implements Store.
func (s FileStore) Read(_ context.Context, key string) ([]byte, string, error) {
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	return b, digest(b), nil
}

// Replace implements Store: a temporary file renamed over the object.
func (s FileStore) Replace(ctx context.Context, key string, body []byte, version string) (string, error) {
	if _, cur, err := s.Read(ctx, key); err != nil || cur != version {
		return "", changed(err)
	}
	tmp, err := writeTemp(filepath.Dir(s.path(key)), body)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	return digest(body), os.Rename(tmp, s.path(key))
}

// Delete implements Store.
func (s FileStore) Delete(ctx context.Context, key, version string) error {
	_, cur, err := s.Read(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case version != "" && cur != version:
		return ErrChanged
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Address implements Store.
func (s FileStore) Address(key string) string { return s.path(key) }

// RemoveCommand implements Store.
func (s FileStore) RemoveCommand(key string) string { return fmt.Sprintf("rm %s", s.path(key)) }

// changed is ErrChanged, or the error that kept the object from being read
// (a missing object has changed too).
func changed(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return ErrChanged
	}
	return err
}
