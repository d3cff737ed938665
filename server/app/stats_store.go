package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The stats read what they show from per-month documents: the figures of
// the incidents created in a month, spread over statsShards documents
// (stats/v1/<month>/<n>, one entry per incident), and a mark
// (stats/v1/<month>/ready) that every incident of the month has its entry.
// A stats view reads 33 documents per month of its window, whatever the
// number of incidents; a change rewrites one shard, a 32nd of its month.
//
// The figures of an incident are computed from its whole timeline by its
// worker (noteStats), after a change that moves them: a start, a page, an
// acknowledgement, a role taken, a severity change, a mitigation, a
// resolution, an action item. A month that has entries from before this
// format is filled once, in the background (backfillStats), and the
// stats say which months they still lack meanwhile.
const statsShards = 32

func statsShardDoc(month string, n int) string { return "stats/v1/" + month + "/" + strconv.Itoa(n) }

func statsReadyDoc(month string) string { return "stats/v1/" + month + "/ready" }

func statsShardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % statsShards)
}

// monthOf names t's calendar month in UTC, as the store's indexes do.
func monthOf(t time.Time) string { return t.UTC().Format("2006-01") }

// StatsEntry is what the stats know of one incident.
type StatsEntry struct {
	ID      string            `json:"-"`
	Team    string            `json:"t,omitempty"`
	Channel string            `json:"c,omitempty"`
	Private bool              `json:"p,omitempty"`
	Created time.Time         `json:"at"`
	Sev     incident.Severity `json:"s"` // the highest reached
	// TTA, TTM and TTR are the times to acknowledge, mitigate and
	// resolve, nil until there is one.
	TTA    *time.Duration `json:"a,omitempty"`
	TTM    *time.Duration `json:"m,omitempty"`
	TTR    *time.Duration `json:"r,omitempty"`
	Pages  map[string]int `json:"pg,omitempty"`
	Stints map[string]int `json:"st,omitempty"`
	// Due are the open action items that have a due date.
	Due []DueItem `json:"d,omitempty"`
	// Events and Rev are the timeline length and record revision the
	// entry was made from: an older computation never replaces it.
	Events int   `json:"n"`
	Rev    int64 `json:"v"`
}

// DueItem is an open action item with a due date.
type DueItem struct {
	N     int       `json:"i"`
	Text  string    `json:"x"`
	Owner string    `json:"o,omitempty"`
	Due   time.Time `json:"due"`
}

type statsShard struct {
	Entries map[string]*StatsEntry `json:"e"`
}

// newer reports whether figures made from events events of revision rev
// may replace those made from (oldEvents, oldRev): the timeline only
// grows, and every change that moves a figure adds to it.
func newer(events int, rev int64, oldEvents int, oldRev int64) bool {
	return events > oldEvents || events == oldEvents && rev >= oldRev
}

// noteStats computes inc's figures from its timeline and stores them: the
// incident's summary (its list row) and its entry in its month's shard.
func (a *App) noteStats(ctx context.Context, inc *incident.Incident) error {
	events, err := a.store.Timeline(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("stats of %s: %w", inc.ID, err)
	}
	items, err := a.ActionItems(ctx, inc)
	if err != nil {
		return fmt.Errorf("stats of %s: %w", inc.ID, err)
	}
	sum, entry := a.figures(inc, events, items)
	if _, _, err := updateDoc(ctx, a.store, summaryDoc(inc.ID), func(s *Summary, exists bool) error {
		if exists && (!newer(sum.Events, sum.Rev, s.Events, s.Rev) || reflect.DeepEqual(s, sum)) {
			return errUnchanged
		}
		*s = *sum
		return nil
	}); err != nil {
		return fmt.Errorf("summary of %s: %w", inc.ID, err)
	}
	return a.putStatsEntry(ctx, entry)
}

// figures are inc's summary and stats entry.
func (a *App) figures(inc *incident.Incident, events []incident.Event, items *incident.ActionItems) (*Summary, *StatsEntry) {
	sum := summarize(inc, events, a.now())
	sum.Events, sum.Rev = len(events), inc.Revision
	sev := inc.HighestSeverity
	if !sev.Valid() {
		sev = inc.Severity
	}
	e := &StatsEntry{ID: inc.ID, Team: inc.TeamID, Channel: inc.ChannelID, Private: inc.Private, Created: inc.CreatedAt.UTC(),
		Sev: sev, Events: len(events), Rev: inc.Revision}
	if sum.Acknowledged {
		e.TTA = &sum.TimeToAck
	}
	if sum.Mitigated {
		e.TTM = &sum.TimeToMitigate
	}
	if sum.Resolved {
		e.TTR = &sum.TimeToResolve
	}
	if len(sum.Pages) > 0 {
		e.Pages = sum.Pages
	}
	if len(sum.Stints) > 0 {
		e.Stints = sum.Stints
	}
	for _, it := range items.Items {
		if !it.Done && !it.Due.IsZero() {
			e.Due = append(e.Due, DueItem{N: it.N, Text: it.Text, Owner: it.Owner, Due: it.Due.UTC()})
		}
	}
	return sum, e
}

// putStatsEntry stores e in its shard unless the shard holds the same or
// a newer one.
func (a *App) putStatsEntry(ctx context.Context, e *StatsEntry) error {
	name := statsShardDoc(monthOf(e.Created), statsShardOf(e.ID))
	_, _, err := updateDoc(ctx, a.store, name, func(sh *statsShard, _ bool) error {
		if old := sh.Entries[e.ID]; old != nil && (!newer(e.Events, e.Rev, old.Events, old.Rev) || reflect.DeepEqual(old, e)) {
			return errUnchanged
		}
		if sh.Entries == nil {
			sh.Entries = map[string]*StatsEntry{}
		}
		sh.Entries[e.ID] = e
		return nil
	})
	if err != nil {
		return fmt.Errorf("stats entry of %s: %w", e.ID, err)
	}
	return nil
}

// movesFigures reports whether an event of type t may change an
// incident's figures.
func movesFigures(t incident.EventType) bool {
	switch t {
	case incident.EventStarted, incident.EventSeverityChanged, incident.EventMitigated, incident.EventResolved,
		incident.EventReopened, incident.EventRoleAssigned, incident.EventHandoverDone, incident.EventActionAdded,
		incident.EventActionDone, incident.EventPaged, incident.EventPageEscalated, incident.EventPageAcknowledged:
		return true
	}
	return false
}

// noteStatsOf is noteStats for the incident with id, for the page
// worker after a page or an acknowledgement. It is best effort: should it
// fail, the incident's figures catch up at its next change, and its
// resolution always stores them (StepSummary).
func (a *App) noteStatsOf(ctx context.Context, id string) {
	if later, ok := ctx.Value(statsLaterKey{}).(*statsLater); ok && later.id == id {
		later.owed = true // the incident's worker notes them after its steps
		return
	}
	inc, err := a.store.GetIncident(ctx, id)
	if err == nil {
		err = a.noteStats(ctx, inc)
	}
	if err != nil && !errors.Is(err, incident.ErrNotFound) {
		a.log.Warn().Err(err).Str("incident", id).Msg("update the incident's stats; they catch up at its next change")
	}
}

// statsLater, in the context of an incident's follow-up steps, collects
// the figures its steps moved (a first page), so that the worker notes
// them once, after its steps.
type statsLater struct {
	id   string
	owed bool
}

type statsLaterKey struct{}

// statsBackfillTTL bounds how long one process keeps a month's backfill
// to itself: another takes it over after that.
const statsBackfillTTL = 10 * time.Minute

// backfillStats gives every incident of month its entry, then marks the
// month ready, once per cluster (a claim), in the background.
func (a *App) backfillStats(month string) {
	a.goBackground(func() {
		ctx := context.Background()
		ok, err := a.store.Claim(ctx, "stats-backfill/v1/"+month, statsBackfillTTL)
		if err != nil || !ok {
			return
		}
		have, err := a.monthShards(ctx, month)
		if err == nil {
			var missing []string
			if missing, err = a.missingEntries(ctx, month, have); err == nil {
				err = a.fillMonth(ctx, month, missing, have, true)
			}
		}
		if err != nil {
			a.log.Warn().Err(err).Str("month", month).Msg("compute the stats of a month; the next stats view tries again")
		}
	})
}

// monthShards reads the entries stored for month.
func (a *App) monthShards(ctx context.Context, month string) (map[string]*StatsEntry, error) {
	have := map[string]*StatsEntry{}
	for n := range statsShards {
		sh, _, err := loadDoc[statsShard](ctx, a.store, statsShardDoc(month, n))
		if err != nil {
			return nil, err
		}
		for id, e := range sh.Entries {
			if e != nil {
				e.ID = id
				have[id] = e
			}
		}
	}
	return have, nil
}

// missingEntries returns the ids the index holds for month that have no
// entry in have, from the indexes alone.
func (a *App) missingEntries(ctx context.Context, month string, have map[string]*StatsEntry) ([]string, error) {
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return nil, err
	}
	ids, err := a.store.IncidentIDsSince(ctx, start)
	if err != nil {
		return nil, err
	}
	later, err := a.store.IncidentIDsSince(ctx, start.AddDate(0, 1, 0))
	if err != nil {
		return nil, err
	}
	skip := make(map[string]bool, len(later))
	for _, id := range later {
		skip[id] = true
	}
	var out []string
	for _, id := range ids {
		if !skip[id] && have[id] == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// fillMonth computes the entries of the incidents ids (of month) from
// their timelines into have; with store it stores them and marks the
// month ready.
func (a *App) fillMonth(ctx context.Context, month string, ids []string, have map[string]*StatsEntry, store bool) error {
	for from := 0; from < len(ids); from += 64 {
		list, err := a.store.GetIncidents(ctx, ids[from:min(from+64, len(ids))])
		if err != nil {
			return err
		}
		for _, inc := range list {
			if inc == nil || monthOf(inc.CreatedAt) != month {
				continue
			}
			events, err := a.store.Timeline(ctx, inc.ID)
			if err != nil {
				return err
			}
			items, err := a.ActionItems(ctx, inc)
			if err != nil {
				return err
			}
			_, e := a.figures(inc, events, items)
			if store {
				if err := a.putStatsEntry(ctx, e); err != nil {
					return err
				}
			}
			have[e.ID] = e
		}
	}
	if !store {
		return nil
	}
	ready, _ := json.Marshal(map[string]any{"at": a.now().UTC(), "incidents": len(have)})
	_, err := a.store.CompareAndSetDoc(ctx, statsReadyDoc(month), nil, ready)
	return err
}
