package kvstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// KV is the part of the plugin KV store that Store uses. *pluginapi.KVService
// satisfies it in production and *pluginapi.MemoryStore in tests.
//
// Store relies on the server's semantics: Set with pluginapi.SetAtomic(old)
// writes only if the stored bytes equal old (nil old: only if the key is
// absent or expired) and reports (false, nil) otherwise; Get into a *[]byte
// yields the raw stored bytes and leaves them untouched for a missing key.
type KV interface {
	Get(key string, o any) error
	Set(key string, value any, options ...pluginapi.KVSetOption) (bool, error)
	Delete(key string) error
	ListKeys(page, count int, options ...pluginapi.ListKeysOption) ([]string, error)
}

var (
	_ KV             = (*pluginapi.KVService)(nil)
	_ KV             = (*pluginapi.MemoryStore)(nil)
	_ incident.Store = (*Store)(nil)
)

// Store is an incident.Store on a plugin KV store. It holds no state besides
// its settings, so any number of Stores, in any number of processes, may
// share one KV. It is safe for concurrent use.
type Store struct {
	kv  KV
	cas cas.Policy
	// activeMigrated is set once this process saw the v1 active index gone.
	activeMigrated *atomic.Bool
	// recent is the bytes of records read lately: the first guess of an
	// update (see recent.go).
	recent *recent
	// recentDocs is the same for documents, by key.
	recentDocs *recent
	// tails is the last timeline chunk written, per incident: the first
	// guess of an append.
	tails *tails
	// channels remembers which incident owns a channel, for this process's
	// lifetime (a mapping never changes once made), up to maxChannels.
	channels  *sync.Map
	nChannels *atomic.Int64
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that ages what the store remembers of its
// recent reads and writes (see recent.go): tests that count KV calls set
// their fake clock, so that a slow run reads no more than a fast one.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.recent.now, s.recentDocs.now, s.tails.now = now, now, now }
}

// WithRetries sets how many times a compare-and-set is tried before the
// operation fails with an incident.ErrConflict-kind error, and the bounds of
// the jittered exponential backoff between tries. Values below 1 (attempts)
// or 0 (durations) keep the defaults.
func WithRetries(attempts int, base, max time.Duration) Option {
	return func(s *Store) {
		if attempts >= 1 {
			s.cas.Attempts = attempts
		}
		if base > 0 {
			s.cas.Base = base
		}
		if max > 0 {
			s.cas.Max = max
		}
	}
}

// New returns a Store on kv.
func New(kv KV, opts ...Option) *Store {
	s := &Store{
		kv:  kv,
		cas: cas.Default,

		activeMigrated: new(atomic.Bool),
		recent:         &recent{now: time.Now},
		recentDocs:     &recent{now: time.Now},
		tails:          &tails{now: time.Now},
		channels:       new(sync.Map),
		nChannels:      new(atomic.Int64),
	}
	for _, o := range opts {
		o(s)
	}
	if s.cas.Max < s.cas.Base {
		s.cas.Max = s.cas.Base
	}
	return s
}

// maxChannels bounds the channel mappings a Store remembers.
const maxChannels = 100000

// rememberChannel remembers that channelID belongs to incident id.
func (s *Store) rememberChannel(channelID, id string) {
	if s.nChannels.Load() >= maxChannels {
		s.channels.Clear()
		s.nChannels.Store(0)
	}
	if _, loaded := s.channels.LoadOrStore(channelID, id); !loaded {
		s.nChannels.Add(1)
	}
}
