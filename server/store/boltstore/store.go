package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

var _ incident.Store = (*Store)(nil)

// Bucket names. Indexes are buckets of keys, so adding to or removing from
// one never rewrites the others.
var (
	incidentsBucket = []byte("incidents") // id -> incident JSON
	channelsBucket  = []byte("channels")  // channel id -> incident id
	activeBucket    = []byte("active")    // id -> empty, for open and mitigated incidents
	createdBucket   = []byte("created")   // timeKey(CreatedAt)+id -> id
	timelinesBucket = []byte("timelines") // id -> bucket of seq (big-endian uint64) -> event JSON
	claimsBucket    = []byte("claims")    // key -> expiry (big-endian Unix ns, 0 = never)
)

// lockTimeout bounds the wait for the file lock, so that a second process
// opening the same file fails with an error instead of hanging.
const lockTimeout = 2 * time.Second

// Store is an incident.Store in one bbolt file. It is safe for concurrent
// use by the goroutines of one process.
type Store struct {
	db *bolt.DB
}

// Open opens or creates the store file at path.
func Open(path string) (*Store, error) { return OpenWith(path, Options{}) }

// Options tune how a store file is opened.
type Options struct {
	// ReadOnly opens an existing file for reading only (shared with other
	// readers); every write fails.
	ReadOnly bool
	// NoSync skips the fsync after each write transaction: for a writer
	// that syncs once when done (Sync), such as an export.
	NoSync bool
}

// buckets are the top-level buckets every store file has.
var buckets = [][]byte{incidentsBucket, channelsBucket, activeBucket, createdBucket, timelinesBucket, claimsBucket, docsBucket}

// OpenWith opens the store file at path with opts.
func OpenWith(path string, opts Options) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: opts.ReadOnly, NoSync: opts.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open incident store %s: another process has it open: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open incident store %s: %w", path, err)
	}
	if opts.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error {
			for _, name := range buckets {
				if tx.Bucket(name) == nil {
					return fmt.Errorf("bucket %s is missing", name)
				}
			}
			return nil
		})
	} else {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, name := range buckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			return nil
		})
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open incident store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Bolt is the store's database, for a caller that keeps buckets of its
// own in the same file (an archive's metadata). Its buckets must not use
// the store's names.
func (s *Store) Bolt() *bolt.DB { return s.db }

// Sync flushes the file to disk.
func (s *Store) Sync() error { return s.db.Sync() }

// DocNames returns the names of the documents whose name starts with
// prefix, in byte order.
func (s *Store) DocNames(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(docsBucket).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
			names = append(names, string(k))
		}
		return nil
	})
	return names, err
}

// Close closes the file; the Store must not be used afterwards.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close incident store: %w", err)
	}
	return nil
}

// view and update run fn in a read or write transaction, after checking
// ctx: bbolt itself cannot be interrupted.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}
