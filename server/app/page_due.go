package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The page timers (pageTimers, see timers.go): which pages the tick must
// look at, and from when. The writers keep the index's rule so:
//
//   - a new page's entry is written before its record;
//   - after a notification the claimant moves the entry to the record's
//     new Due, which it has just written;
//   - the tick moves or drops an entry only if it still holds the value the
//     tick read (a compare per entry), so it never undoes a newer write;
//   - entries of acknowledged or closed pages, and of records that never
//     appeared, are dropped when the tick reaches them.

// orphanGrace is how long an entry without a record is kept: its page may
// be being created right now.
const orphanGrace = time.Minute

// scheduleDue gives page id an entry due at due (zero: none) and returns
// where it is.
func (a *App) scheduleDue(ctx context.Context, id string, due time.Time) (slot, error) {
	s, err := a.setTimer(ctx, pageTimers, id, due)
	if err != nil {
		return slot{}, fmt.Errorf("schedule page: %w", err)
	}
	return s, nil
}

// createDoc stores v as the new document name and reports whether it was
// absent (false: the name is taken, nothing was written).
func createDoc[T any](ctx context.Context, d incident.Docs, name string, v *T) (bool, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode %s: %w", name, err)
	}
	return d.CompareAndSetDoc(ctx, name, nil, b)
}
