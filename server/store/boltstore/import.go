package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// IncidentIDsSince implements incident.Store with one seek in the creation
// index; the ids come oldest first.
func (s *Store) IncidentIDsSince(ctx context.Context, since time.Time) ([]string, error) {
	var ids []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(createdBucket).Cursor()
		for k, id := c.Seek(timeKey(since)); k != nil; k, id = c.Next() {
			ids = append(ids, string(id))
		}
		return nil
	})
	return ids, wrap(err, "list incident ids since "+since.Format(time.RFC3339))
}

// ImportIncident implements incident.Store in one write transaction.
func (s *Store) ImportIncident(ctx context.Context, inc *incident.Incident, events []incident.Event) error {
	if inc.ID == "" {
		return incident.Invalidf("the incident has no id")
	}
	ref := inc.ShortRef()
	if inc.ChannelID == "" || inc.CreatedAt.IsZero() {
		return fmt.Errorf("import incident %s: channel and creation time are required", ref)
	}
	if err := incident.CheckImportedTimeline(events); err != nil {
		return fmt.Errorf("import incident %s: %w", ref, err)
	}
	rec := inc.Clone()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := insertIncident(tx, rec, fmt.Sprintf("channel %s already has an incident", rec.ChannelID)); err != nil {
			return err
		}
		tl, err := tx.Bucket(timelinesBucket).CreateBucket([]byte(rec.ID))
		if err != nil {
			return err
		}
		tl.FillPercent = 1 // keys arrive in order: pack the pages
		for _, e := range events {
			raw, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %d: %w", e.Seq, err)
			}
			if err := tl.Put(seqKey(uint64(e.Seq)), raw); err != nil {
				return err
			}
		}
		return tl.SetSequence(uint64(len(events)))
	})
	return wrap(err, "import incident "+ref)
}
