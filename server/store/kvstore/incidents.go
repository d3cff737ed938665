package kvstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func notFound(id string) error { return incident.NotFoundf("incident #%s not found", id) }

// readIncident returns the incident stored under id and its raw bytes, or
// nil and no error when there is none.
func (s *Store) readIncident(id string) (*incident.Incident, []byte, error) {
	mark := s.recent.mark()
	raw, err := s.get(incidentKey(id))
	if err != nil || raw == nil {
		return nil, nil, err
	}
	inc, raw, err := decodeIncident(id, raw)
	if err == nil {
		s.recent.putRead(id, raw, mark)
	}
	return inc, raw, err
}

func decodeIncident(id string, raw []byte) (*incident.Incident, []byte, error) {
	var inc incident.Incident
	if err := json.Unmarshal(raw, &inc); err != nil {
		return nil, nil, fmt.Errorf("decode incident %s: %w", id, err)
	}
	return &inc, raw, nil
}

// CreateIncident implements incident.Store: InsertIncident, then
// IndexIncident.
func (s *Store) CreateIncident(ctx context.Context, inc *incident.Incident) error {
	if err := s.InsertIncident(ctx, inc); err != nil {
		return err
	}
	return s.IndexIncident(ctx, inc.ID)
}

// InsertIncident implements incident.Store. It inserts the record, then the
// channel mapping (removing the record again if the channel is taken): two
// calls. On success inc.Revision is 1.
func (s *Store) InsertIncident(ctx context.Context, inc *incident.Incident) error {
	if err := checkID(inc.ID); err != nil {
		return err
	}
	ref := inc.ShortRef()
	if inc.ChannelID == "" || inc.CreatedAt.IsZero() {
		return fmt.Errorf("create incident %s: channel and creation time are required", ref)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create incident %s: %w", ref, err)
	}
	rec := inc.Clone()
	rec.Revision = 1
	raw, err := cas.Encode(nil, rec)
	if err != nil {
		return fmt.Errorf("create incident %s: encode: %w", ref, err)
	}

	// The record goes first: a crash after it leaves an unindexed record
	// nobody sees, where a channel mapping written first would leave the
	// channel claimed by nothing, for good.
	mark := s.recent.mark()
	ok, err := s.swap(incidentKey(rec.ID), nil, raw)
	if err != nil {
		return fmt.Errorf("create incident %s: %w", ref, err)
	}
	if !ok {
		return incident.Conflictf("incident %s already exists", ref)
	}
	ok, err = s.swap(channelKey(rec.ChannelID), nil, []byte(rec.ID))
	if err == nil && !ok {
		err = incident.Conflictf("this channel already has an incident; start a new one from another channel")
	}
	if err != nil {
		if _, uerr := s.deleteIf(incidentKey(rec.ID), raw); uerr != nil {
			return fmt.Errorf("create incident %s: remove the record after %v: %w", ref, err, uerr)
		}
		if incident.KindOf(err) == incident.KindInternal {
			return fmt.Errorf("create incident %s: %w", ref, err)
		}
		return err
	}
	s.recent.putWrite(rec.ID, raw, mark)
	s.rememberChannel(rec.ChannelID, rec.ID)
	inc.Revision = rec.Revision
	return nil
}

// IndexIncident implements incident.Store: the incident goes into the
// index of its month and, while active, the active index. Running it again
// changes nothing (a repeat in a month's log is dropped by its readers).
func (s *Store) IndexIncident(ctx context.Context, id string) error {
	rec, _, err := s.readIncident(id)
	if err != nil {
		return fmt.Errorf("index incident #%s: %w", id, err)
	}
	if rec == nil {
		return notFound(id)
	}
	ref := rec.ShortRef()
	month := monthOf(rec.CreatedAt)
	if err := s.addToSet(ctx, monthsKey, month, "index incident "+ref+" by month"); err != nil {
		return err
	}
	if err := s.logAppend(ctx, monthLog(month), rec.ID, "index incident "+ref+" by month"); err != nil {
		return err
	}
	return s.syncActive(ctx, rec)
}

// GetIncident implements incident.Store.
func (s *Store) GetIncident(ctx context.Context, id string) (*incident.Incident, error) {
	if checkID(id) != nil {
		return nil, notFound(id)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get incident #%s: %w", id, err)
	}
	if raw := s.recent.get(id, recentRead); raw != nil {
		if inc, _, err := decodeIncident(id, raw); err == nil {
			return inc, nil
		}
	}
	inc, _, err := s.readIncident(id)
	if err != nil {
		return nil, fmt.Errorf("get incident #%s: %w", id, err)
	}
	if inc == nil {
		return nil, notFound(id)
	}
	return inc, nil
}

// UpdateIncident implements incident.Store: a compare-and-set loop on the
// record's raw bytes. mutate may run several times, each time on a fresh
// copy of the current record; it must not change the ID, ChannelID or
// CreatedAt, which the indexes are keyed by.
func (s *Store) UpdateIncident(ctx context.Context, id string, mutate func(*incident.Incident) error) (*incident.Incident, error) {
	if checkID(id) != nil {
		return nil, notFound(id)
	}
	var (
		out          *incident.Incident
		activeChange bool
	)
	guess := s.recent.get(id, recentFresh)
	err := s.retry(ctx, "update incident #"+id, func() (bool, error) {
		var (
			cur *incident.Incident
			old []byte
			err error
		)
		if guess != nil {
			cur, old, err = decodeIncident(id, guess)
			guess = nil
		} else {
			cur, old, err = s.readIncident(id)
		}
		if err != nil {
			return false, fmt.Errorf("update incident #%s: %w", id, err)
		}
		if cur == nil {
			return false, notFound(id)
		}
		before := *cur
		if err := mutate(cur); err != nil {
			return false, err
		}
		if cur.ID != before.ID || cur.ChannelID != before.ChannelID || !cur.CreatedAt.Equal(before.CreatedAt) {
			return false, fmt.Errorf("update incident #%s: the id, channel and creation time cannot change", id)
		}
		cur.Revision = before.Revision + 1
		raw, err := cas.Encode(old, cur)
		if err != nil {
			return false, fmt.Errorf("update incident #%s: encode: %w", id, err)
		}
		mark := s.recent.mark()
		ok, err := s.swap(incidentKey(id), old, raw)
		if err != nil {
			s.recent.forget(id)
			return false, fmt.Errorf("update incident #%s: %w", id, err)
		}
		if ok {
			s.recent.putWrite(id, raw, mark)
		}
		out, activeChange = cur, cur.Status.Active() != before.Status.Active()
		return ok, nil
	})
	if err != nil {
		return nil, err
	}
	if activeChange {
		if err := s.syncActive(ctx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteIncident implements incident.Store. The record goes last, so that
// a delete that failed half-way can simply be run again.
func (s *Store) DeleteIncident(ctx context.Context, id string) error {
	if checkID(id) != nil {
		return notFound(id)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete incident #%s: %w", id, err)
	}
	inc, _, err := s.readIncident(id)
	if err != nil {
		return fmt.Errorf("delete incident #%s: %w", id, err)
	}
	if inc == nil {
		return notFound(id)
	}
	ref := inc.ShortRef()
	if err := s.deleteTimeline(id); err != nil {
		return fmt.Errorf("delete incident %s: %w", ref, err)
	}
	// The month's log keeps the id (it is append-only); listings skip ids
	// whose record is gone.
	if err := s.editActive(ctx, id, "remove incident "+ref+" from the active list", func(sh *activeShard) error {
		delete(sh.IDs, id)
		return nil
	}); err != nil {
		return err
	}
	if err := s.removeFromSet(ctx, monthKey(monthOf(inc.CreatedAt)), id, "remove incident "+ref+" from its month"); err != nil {
		return err
	}
	// Only our own mapping: the channel may already belong to another incident.
	if _, err := s.deleteIf(channelKey(inc.ChannelID), []byte(id)); err != nil {
		return fmt.Errorf("delete incident %s: %w", ref, err)
	}
	s.recent.forget(id)
	s.channels.Delete(inc.ChannelID)
	if err := s.delete(incidentKey(id)); err != nil {
		return fmt.Errorf("delete incident %s: %w", ref, err)
	}
	return nil
}

// IncidentIDForChannel implements incident.Store.
func (s *Store) IncidentIDForChannel(ctx context.Context, channelID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("find the incident of channel %s: %w", channelID, err)
	}
	// A channel's incident never changes once it has one (only the undo
	// of a half-made start removes it, in the process that made it).
	if id, ok := s.channels.Load(channelID); ok {
		return id.(string), nil
	}
	raw, err := s.get(channelKey(channelID))
	if err != nil {
		return "", fmt.Errorf("find the incident of channel %s: %w", channelID, err)
	}
	if raw == nil {
		return "", incident.NotFoundf("this channel has no incident")
	}
	s.rememberChannel(channelID, string(raw))
	return string(raw), nil
}
