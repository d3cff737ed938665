package incident

import (
	"context"
	"time"
)

// Store persists incidents and their timelines. Implementations must be safe
// for concurrent use by several processes sharing one backend where they say
// so (the plugin KV store is shared by every node of a cluster).
//
// Errors: ErrNotFound (via errors.Is) for a missing incident, ErrConflict
// when an insert finds the key taken or compare-and-set retries run out;
// anything else is an infrastructure failure.
type Store interface {
	// CreateIncident stores a new incident (Revision 1) and indexes it by
	// channel, as active, and by creation time. ErrConflict if the id or the
	// channel is taken.
	CreateIncident(ctx context.Context, inc *Incident) error
	// GetIncident returns the incident with id.
	GetIncident(ctx context.Context, id string) (*Incident, error)
	// UpdateIncident applies mutate to the current record and stores it with
	// compare-and-set, re-reading and re-applying mutate on a concurrent
	// write. An error from mutate aborts without writing and is returned as
	// is. Active-index membership follows the new status.
	UpdateIncident(ctx context.Context, id string, mutate func(*Incident) error) (*Incident, error)
	// DeleteIncident removes an incident, its indexes and its timeline. It
	// exists to undo a half-made start; nothing else deletes incidents.
	DeleteIncident(ctx context.Context, id string) error
	// IncidentIDForChannel returns the id of the incident that owns a
	// channel, or ErrNotFound.
	IncidentIDForChannel(ctx context.Context, channelID string) (string, error)
	// ListActive returns open and mitigated incidents, newest first.
	ListActive(ctx context.Context) ([]*Incident, error)
	// ListSince returns every incident created at or after since, newest first.
	ListSince(ctx context.Context, since time.Time) ([]*Incident, error)

	// AppendEvent adds e to the end of an incident's timeline and returns it
	// with its Seq. Concurrent appends all land, each exactly once, and the
	// cost does not grow with the timeline's length.
	AppendEvent(ctx context.Context, incidentID string, e Event) (Event, error)
	// Timeline returns every event of an incident in Seq order (empty if none).
	Timeline(ctx context.Context, incidentID string) ([]Event, error)

	// Claim takes key if nobody holds it, for ttl (0 = forever), and reports
	// whether this caller got it. Exactly one of any number of concurrent
	// callers wins: the basis of "do it once per cluster".
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
}
