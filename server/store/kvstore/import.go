package kvstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// IncidentIDsSince implements incident.Store: it reads the list of months
// and the indexes of each month from since's on, not the incidents.
func (s *Store) IncidentIDsSince(ctx context.Context, since time.Time) ([]string, error) {
	ids, err := s.idsSince(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("list incident ids since %s: %w", since.Format(time.RFC3339), err)
	}
	return ids, nil
}

// ImportIncident implements incident.Store. Everything that points at the
// incident is written before its record, which comes last: until then no
// reader sees the incident (indexes naming an absent record are skipped),
// and a retry after a failure rewrites the same keys. It costs one write
// per timeline chunk, not per event.
func (s *Store) ImportIncident(ctx context.Context, inc *incident.Incident, events []incident.Event) error {
	if err := checkID(inc.ID); err != nil {
		return err
	}
	ref := inc.ShortRef()
	what := "import incident " + ref
	if inc.ChannelID == "" || inc.CreatedAt.IsZero() {
		return fmt.Errorf("%s: channel and creation time are required", what)
	}
	if err := incident.CheckImportedTimeline(events); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if cur, _, err := s.readIncident(inc.ID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	} else if cur != nil {
		return incident.Conflictf("incident %s already exists", ref)
	}
	owner, err := s.get(channelKey(inc.ChannelID))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if owner != nil && string(owner) != inc.ID {
		return incident.Conflictf("channel %s already has incident #%s", inc.ChannelID, owner)
	}
	rec := inc.Clone()
	if err := s.writeTimeline(rec.ID, events); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	month := monthOf(rec.CreatedAt)
	if err := s.addToSet(ctx, monthsKey, month, what); err != nil {
		return err
	}
	if err := s.logAppend(ctx, monthLog(month), rec.ID, what); err != nil {
		return err
	}
	if rec.Status.Active() { // an absent record is in no shard: nothing to remove
		if err := s.syncActive(ctx, rec); err != nil {
			return err
		}
	}
	if owner == nil {
		ok, err := s.swap(channelKey(rec.ChannelID), nil, []byte(rec.ID))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if !ok {
			return incident.Conflictf("channel %s was just taken by another incident", rec.ChannelID)
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ok, err := s.swap(incidentKey(rec.ID), nil, raw)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !ok {
		return incident.Conflictf("incident %s already exists", ref)
	}
	return nil
}

// writeTimeline writes events as chunks, sealed exactly as appends would
// have sealed them, and points the head at the last one. Nobody else
// writes the timeline of an incident that has no record yet.
func (s *Store) writeTimeline(id string, events []incident.Event) error {
	c, raw, k := &chunk{}, []byte(nil), 0
	flush := func() error {
		if raw == nil {
			return nil
		}
		if _, err := s.kv.Set(chunkKey(id, k), raw); err != nil {
			return fmt.Errorf("write %s: %w", chunkKey(id, k), err)
		}
		return nil
	}
	for _, e := range events {
		next, enc, _, err := c.plus(e, len(raw))
		if err != nil {
			return err
		}
		c, raw = next, enc
		if c.Sealed {
			if err := flush(); err != nil {
				return err
			}
			c, raw, k = &chunk{Base: c.next()}, nil, k+1
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if raw == nil && k > 0 {
		k-- // the last chunk was sealed: the head names it
	}
	if k == 0 {
		return nil
	}
	if _, err := s.kv.Set(timelineHeadKey(id), []byte(strconv.Itoa(k))); err != nil {
		return fmt.Errorf("write %s: %w", timelineHeadKey(id), err)
	}
	return nil
}
