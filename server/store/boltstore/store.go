package boltstore

import (
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
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open incident store %s: another process has it open: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open incident store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{incidentsBucket, channelsBucket, activeBucket, createdBucket, timelinesBucket, claimsBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open incident store %s: %w", path, err)
	}
	return &Store{db: db}, nil
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
