package incident

import (
	"context"
	"time"
)

// Store persists incidents and their timelines. Implementations must be safe
// for concurrent use by several processes sharing one backend where they say
// so (the plugin KV store is shared by every node of a cluster).
//
// Reads may be slightly stale on a cluster whose database has read
// replicas; every write that can race is a compare-and-set on the primary,
// so correctness never depends on a fresh read.
//
// Errors: ErrNotFound (via errors.Is) for a missing incident, ErrConflict
// when an insert finds the key taken or compare-and-set retries run out;
// anything else is an infrastructure failure.
type Store interface {
	// CreateIncident stores a new incident and indexes it by channel, as
	// active, and by creation time. It sets inc.Revision to 1. ErrConflict if
	// the id or the channel is taken; then nothing is left behind.
	CreateIncident(ctx context.Context, inc *Incident) error
	// InsertIncident stores a new incident and indexes it by channel, like
	// CreateIncident, but may leave the indexes of listings (as active, by
	// creation time) to IndexIncident, which the caller owes right after:
	// the fast part of a start. ErrConflict as CreateIncident.
	InsertIncident(ctx context.Context, inc *Incident) error
	// IndexIncident puts an incident into the indexes of listings: by
	// creation time, and as active while it is. Running it again changes
	// nothing; ErrNotFound for an unknown incident.
	IndexIncident(ctx context.Context, id string) error
	// GetIncident returns the incident with id.
	GetIncident(ctx context.Context, id string) (*Incident, error)
	// UpdateIncident applies mutate to the current record and stores it with
	// compare-and-set, re-reading and re-applying mutate on a concurrent
	// write. mutate may therefore run more than once: it must have no side
	// effects, must not call the Store, and must not change ID, ChannelID or
	// CreatedAt (the indexes depend on them). An error from mutate aborts
	// without writing and is returned as is. Active-index membership follows
	// the new status.
	UpdateIncident(ctx context.Context, id string, mutate func(*Incident) error) (*Incident, error)
	// DeleteIncident removes an incident, its indexes and its timeline. It
	// exists to undo a half-made start; nothing else deletes incidents.
	DeleteIncident(ctx context.Context, id string) error
	// IncidentIDForChannel returns the id of the incident that owns a
	// channel, or ErrNotFound.
	IncidentIDForChannel(ctx context.Context, channelID string) (string, error)
	// ListActive returns the newest limit open and mitigated incidents
	// (every one if limit <= 0), newest first, and how many are active in
	// all. Its cost in reads of incidents follows limit, not the number of
	// active incidents.
	ListActive(ctx context.Context, limit int) ([]*Incident, int, error)
	// ListSince returns every incident created at or after since, newest first.
	ListSince(ctx context.Context, since time.Time) ([]*Incident, error)

	// AppendEvent adds e to the end of an incident's timeline and returns it
	// with its Seq; ErrNotFound for an unknown incident. Concurrent appends
	// all land, each exactly once, and the cost does not grow with the
	// timeline's length. (A retry after an error that struck after the write
	// landed can add the event twice; callers prefer that to losing it.)
	AppendEvent(ctx context.Context, incidentID string, e Event) (Event, error)
	// AppendEvents adds events to the end of an incident's timeline, in
	// order, each exactly once, and returns them with their Seqs: a batch
	// costs about what one event does. A batch may be interleaved with
	// concurrent appends only where it fills a chunk of the store. On an
	// error, the events returned did land (the others may have too, when
	// the error struck after a write).
	//
	// A keyed event (Key set) whose key is among the last events of the
	// timeline (at least the last 32) is not added again: the stored event
	// is returned in its place. The check and the write are one atomic
	// step, so concurrent appends of one key land once; callers that may
	// repeat an older event look further back first (see TimelineTail).
	AppendEvents(ctx context.Context, incidentID string, events []Event) ([]Event, error)
	// Timeline returns every event of an incident in Seq order (empty if
	// none; ErrNotFound for an unknown incident).
	Timeline(ctx context.Context, incidentID string) ([]Event, error)
	// TimelineTail returns the last n events of an incident's timeline in
	// Seq order (fewer if it is shorter), at a cost that depends on n, not
	// on the timeline's length; ErrNotFound for an unknown incident.
	TimelineTail(ctx context.Context, incidentID string, n int) ([]Event, error)

	// IncidentIDsSince returns the ids of the incidents created at or after
	// since (and possibly a few created earlier in since's month), each
	// once, in no particular order, reading the indexes only: callers read
	// the incidents themselves, in batches as large as they choose.
	IncidentIDsSince(ctx context.Context, since time.Time) ([]string, error)
	// IncidentMonths returns the months (UTC, "2006-01") in which the
	// indexes hold incidents, oldest first, at the cost of one read.
	IncidentMonths(ctx context.Context) ([]string, error)
	// ListIDs returns up to n ids from the listing after cursor ("" for
	// the start), each with the cursor that continues after it: newest
	// month first, and within a month the last indexed first (creation
	// order, but for incidents imported later). Fewer than n means the
	// listing ends. Its cost follows n, not the number of incidents.
	ListIDs(ctx context.Context, cursor string, n int) ([]Listed, error)
	// GetIncidents returns the incidents with ids, in order, read several
	// at a time; a missing one is nil.
	GetIncidents(ctx context.Context, ids []string) ([]*Incident, error)

	// ImportIncident stores a copy of an incident made elsewhere, with its
	// whole timeline, as they are: the record's Revision and every event's
	// Seq (which must run 0, 1, 2, ... in order) are kept. ErrConflict if
	// the id or the channel is taken; then the existing incident is left
	// as it was. A failure part way leaves no visible incident, so the
	// caller may simply retry.
	ImportIncident(ctx context.Context, inc *Incident, events []Event) error

	// Docs holds the small shared documents besides incidents (the rota,
	// handoff records, pending timers).
	Docs

	// Claim takes key if nobody holds it, for ttl (0 = forever; the KV store
	// rounds a non-zero ttl up to whole seconds), and reports
	// whether this caller got it. Exactly one of any number of concurrent
	// callers wins: the basis of "do it once per cluster".
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Docs keeps small JSON documents under short names with compare-and-set:
// the primitive that every other piece of shared state (rota, handoffs,
// timers) is built on, so that each store implements it once and the
// contract suite proves it once.
//
// Names are 1..100 characters of a-z, 0-9, '/', '-', '_' and '.'.
type Docs interface {
	// GetDoc returns the document's bytes, or nil if there is none.
	GetDoc(ctx context.Context, name string) ([]byte, error)
	// GetDocs returns the bytes of several documents, in order, read
	// several at a time; a missing one is nil.
	GetDocs(ctx context.Context, names []string) ([][]byte, error)
	// CompareAndSetDoc replaces the document old with next and reports
	// whether it did: old nil means "only if absent", next nil deletes. A
	// false answer means another writer got there first: read and retry.
	CompareAndSetDoc(ctx context.Context, name string, old, next []byte) (bool, error)
	// DocNames returns the names of the documents that start with prefix,
	// sorted. It walks every key of the store, a page at a time: for
	// exports, never for hot paths. A document made or removed while it
	// runs may be missed or still listed.
	DocNames(ctx context.Context, prefix string) ([]string, error)
}

// Listed is one id of a listing (see Store.ListIDs) and the cursor that
// continues the listing after it.
type Listed struct {
	ID, Next string
}

// ValidDocName reports whether name may name a document.
func ValidDocName(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '/' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// CheckImportedTimeline refuses a timeline for ImportIncident whose Seqs do
// not run 0, 1, 2, ... in order.
func CheckImportedTimeline(events []Event) error {
	for i, e := range events {
		if e.Seq != i {
			return Invalidf("timeline event %d has seq %d; seqs must run 0, 1, 2, ...", i, e.Seq)
		}
	}
	return nil
}
