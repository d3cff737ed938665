package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Upgrading from a version before the work engine. Those kept their due
// work in indexes of their own (work/v2/due for incidents, page/v2/due and
// page/v1/due for pages) and a lease document per incident (work/v1/<id>).
// The first activation after the upgrade moves every entry they hold into
// the engine's index, gives every active incident an entry (so that a
// follow-up an older node left owed is found even if its entry was lost),
// and removes the old documents; then it marks the move done. Several
// nodes doing it at once is harmless: entries are hints, and the old
// documents go by compare-and-set.

// indexMovedDoc marks that the move is done.
const indexMovedDoc = "work/v3/moved"

// legacyIndexes are the older versions' indexes, by the kind their
// entries are.
var legacyIndexes = []struct{ prefix, kind string }{
	{"work/v2/due/", kindIncident},
	{"page/v2/due/", kindPage},
	{"page/v1/due/", kindPage},
}

// migrateIndex moves the older versions' work index into the engine's,
// once per cluster.
func (a *App) migrateIndex(ctx context.Context) error {
	if raw, err := a.store.GetDoc(ctx, indexMovedDoc); err != nil || raw != nil {
		return err
	}
	now := a.now()
	var due []work.Due
	type oldDoc struct {
		name string
		raw  []byte
	}
	var remove []oldDoc
	for _, x := range legacyIndexes {
		names, err := a.store.DocNames(ctx, x.prefix)
		if err != nil {
			return fmt.Errorf("list %s: %w", x.prefix, err)
		}
		for _, name := range names {
			raw, err := a.store.GetDoc(ctx, name)
			if err != nil || raw == nil {
				if err != nil {
					return err
				}
				continue
			}
			remove = append(remove, oldDoc{name, raw})
			if strings.HasSuffix(name, "/cursor") {
				continue
			}
			var d struct {
				Due map[string]int64 `json:"due"`
			}
			if err := json.Unmarshal(raw, &d); err != nil {
				a.log.Warn().Err(err).Str("doc", name).Msg("an old work index document cannot be read; its entries are left to the sweep of active incidents")
				continue
			}
			for id, at := range d.Due {
				due = append(due, work.Due{Kind: x.kind, Key: id, At: time.UnixMilli(at)})
			}
		}
	}
	active, _, err := a.store.ListActive(ctx, 0)
	if err != nil {
		return fmt.Errorf("list active incidents: %w", err)
	}
	for _, inc := range active {
		due = append(due, work.Due{Kind: kindIncident, Key: inc.ID, At: now})
	}
	if err := a.work.ScheduleAll(ctx, due); err != nil {
		return err
	}
	leases, err := a.store.DocNames(ctx, "work/v1/")
	if err != nil {
		return fmt.Errorf("list old work leases: %w", err)
	}
	for _, name := range leases {
		if raw, err := a.store.GetDoc(ctx, name); err == nil && raw != nil {
			remove = append(remove, oldDoc{name, raw})
		}
	}
	var errs []error
	for _, d := range remove {
		if _, err := a.store.CompareAndSetDoc(ctx, d.name, d.raw, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove the old work index: %w", err)
	}
	if _, err := a.store.CompareAndSetDoc(ctx, indexMovedDoc, nil, []byte(`{"at":"`+now.UTC().Format(time.RFC3339)+`"}`)); err != nil {
		return err
	}
	a.log.Info().Int("entries", len(due)).Int("active", len(active)).Int("removed", len(remove)).Msg("moved the work index of an older version into the work engine's")
	return nil
}
