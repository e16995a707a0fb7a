package lease

import (
	"context"
	"errors"
)

// Store holds lease objects by key: an object is created only when none
// has its key (S3's `If-None-Match: *`, a file's O_EXCL), and replaced or
// deleted only while it is still the version read.
type Store interface {
	// Create writes body under key; ErrExists when an object has the key.
	Create(ctx context.Context, key string, body []byte) (version string, err error)
	// Read returns the object and its version; ErrNotFound when none.
	Read(ctx context.Context, key string) (body []byte, version string, err error)
	// Replace overwrites the object if it is still version; else ErrChanged.
	Replace(ctx context.Context, key string, body []byte, version string) (newVersion string, err error)
	// Delete removes the object if it is still version ("": any version);
	// a missing object is no error.
	Delete(ctx context.Context, key, version string) error
	// Address is where the object lives, as a user's tool names it
	// (s3://bucket/key, or a file path).
	Address(key string) string
	// RemoveCommand is the shell command that deletes the object by hand.
	RemoveCommand(key string) string
}

// The errors a Store answers with.
var (
	ErrExists   = errors.New("the lease object already exists")
	ErrNotFound = errors.New("no lease object")
	ErrChanged  = errors.New("the lease object changed since it was read")
)

// Dir is the folder of the state store that holds the leases, one object
// per cluster (Key). It lies outside every cluster's folder: kops refuses to
// delete a cluster whose folder holds files it does not know, and it lists
// clusters by `<store>/<name>/config`, which no key here ends with.
const Dir = ".kopscalico-leases"

// Key is the lease object of cluster name, relative to the state store.
func Key(cluster string) string { return Dir + "/" + cluster + ".json" }
