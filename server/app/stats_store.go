package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// The stats read what they show from per-month documents: the incidents
// created in a month, spread over statsShards documents
// (stats/v1/<month>/<n>), each holding one entry per incident (packed)
// and what its entries add up to (shardFigures: histograms and counts by
// team, whose size does not follow the number of incidents), and a mark
// (stats/v1/<month>/ready) that every incident of the month has its entry.
// A stats view reads 17 documents per month of its window, and decodes
// the figures of a whole month, the entries only of the month its window
// starts in; a change rewrites one shard, a 16th of its month.
//
// The figures of an incident are computed from its whole timeline by its
// worker (noteStats), after a change that moves them: a start, a page, an
// acknowledgement, a role taken, a severity change, a mitigation, a
// resolution, an action item. A month that has entries from before this
// format is filled once, in the background (backfillStats), and the
// stats say which months they still lack meanwhile.
const statsShards = 16

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

// statsShard is a shard document: its figures first (a stats view of a
// whole month reads them alone), then its entries, packed (JSON,
// gzipped: about a seventh of the bytes), since a view of a whole month
// reads the document without them.
type statsShard struct {
	Figures *shardFigures `json:"a"`
	Packed  []byte        `json:"z,omitempty"`
}

// entries unpacks the shard's entries (ids set).
func (sh *statsShard) entries() (map[string]*StatsEntry, error) {
	out := map[string]*StatsEntry{}
	if len(sh.Packed) == 0 {
		return out, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(sh.Packed))
	if err != nil {
		return nil, fmt.Errorf("unpack stats entries: %w", err)
	}
	if err := json.NewDecoder(zr).Decode(&out); err != nil {
		return nil, fmt.Errorf("unpack stats entries: %w", err)
	}
	for id, e := range out {
		if e == nil {
			delete(out, id)
			continue
		}
		e.ID = id
	}
	return out, nil
}

// pack stores entries in the shard, and their figures.
func (sh *statsShard) pack(entries map[string]*StatsEntry) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := json.NewEncoder(zw).Encode(entries); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	sh.Packed, sh.Figures = buf.Bytes(), sumShard(entries)
	return nil
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
	return a.putStatsEntries(ctx, []*StatsEntry{entry})
}

// figures are inc's summary and stats entry.
func (a *App) figures(inc *incident.Incident, events []incident.Event, items *incident.ActionItems) (*Summary, *StatsEntry) {
	// The figures depend on the timeline alone: computed as of its last
	// event, not the clock, two computations of one timeline are equal
	// (and the second writes nothing).
	at := inc.UpdatedAt
	if n := len(events); n > 0 && events[n-1].At.After(at) {
		at = events[n-1].At
	}
	sum := summarize(inc, events, at)
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

// putStatsEntries stores entries in their shards, one write per shard,
// leaving alone any the shard holds already or holds newer.
func (a *App) putStatsEntries(ctx context.Context, entries []*StatsEntry) error {
	byShard := map[string][]*StatsEntry{}
	for _, e := range entries {
		name := statsShardDoc(monthOf(e.Created), statsShardOf(e.ID))
		byShard[name] = append(byShard[name], e)
	}
	for name, list := range byShard {
		_, _, err := updateDoc(ctx, a.store, name, func(sh *statsShard, _ bool) error {
			have, err := sh.entries()
			if err != nil {
				return err
			}
			changed := false
			for _, e := range list {
				if old := have[e.ID]; old != nil && (!newer(e.Events, e.Rev, old.Events, old.Rev) || reflect.DeepEqual(old, e)) {
					continue
				}
				have[e.ID], changed = e, true
			}
			if !changed {
				return errUnchanged
			}
			return sh.pack(have)
		})
		if err != nil {
			return fmt.Errorf("stats entries in %s: %w", name, err)
		}
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

// statsFill is the lease of a month's backfill (stats/v1/<month>/fill),
// so that one process at a time computes it.
type statsFill struct {
	Lease cas.Lease `json:"lease,omitzero"`
}

func statsFillDoc(month string) string { return "stats/v1/" + month + "/fill" }

// backfillStats gives every incident of month its entry and marks the
// month ready, in the background: one run per process (fills), and one
// per cluster by the lease rule (see package work), so that the views
// that find the month pending meanwhile start nothing more.
func (a *App) backfillStats(month string) {
	if _, running := a.fills.LoadOrStore(month, true); running {
		return
	}
	a.goBackground(func() {
		defer a.fills.Delete(month)
		ctx := context.Background()
		if err := a.fillLeased(ctx, month); err != nil {
			a.log.Warn().Err(err).Str("month", month).Msg("compute the stats of a month; the next stats view tries again")
		}
	})
}

// fillLeased takes the month's lease, unless another process works on
// it, and fills the month while the lease holds.
func (a *App) fillLeased(ctx context.Context, month string) error {
	name, owner := statsFillDoc(month), cas.NewOwner()
	cur, _, err := loadDoc[statsFill](ctx, a.store, name)
	if err != nil {
		return err
	}
	seen := cur.Lease
	if seen.Held() && !a.work.Watch().MayTake(name, seen) {
		return nil
	}
	_, took, err := updateDoc(ctx, a.store, name, func(f *statsFill, _ bool) error {
		if f.Lease != seen {
			return errUnchanged
		}
		f.Lease.Take(owner, a.now())
		return nil
	})
	if err != nil || !took {
		return err
	}
	a.work.Watch().Forget(name)
	hctx, stop := work.Hold(ctx, a.work.Clock(), func(ctx context.Context) (bool, error) {
		_, _, err := updateDoc(ctx, a.store, name, func(f *statsFill, _ bool) error {
			if !f.Lease.HeldBy(owner) {
				return errLeaseLost
			}
			f.Lease.Renew(a.now())
			return nil
		})
		if errors.Is(err, errLeaseLost) {
			return false, nil
		}
		return err == nil, err
	})
	defer stop()
	have, err := a.monthShards(hctx, month)
	if err == nil {
		var missing []string
		if missing, err = a.missingEntries(hctx, month, have); err == nil {
			err = a.fillMonth(hctx, month, missing, have, true)
		}
	}
	if _, _, rerr := updateDoc(context.WithoutCancel(ctx), a.store, name, func(f *statsFill, _ bool) error {
		if !f.Lease.HeldBy(owner) {
			return errUnchanged
		}
		return errDelete
	}); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// monthShards reads the entries stored for month.
func (a *App) monthShards(ctx context.Context, month string) (map[string]*StatsEntry, error) {
	have := map[string]*StatsEntry{}
	for n := range statsShards {
		sh, _, err := loadDoc[statsShard](ctx, a.store, statsShardDoc(month, n))
		if err != nil {
			return nil, err
		}
		entries, err := sh.entries()
		if err != nil {
			return nil, err
		}
		maps.Copy(have, entries)
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
// their timelines into have, a few hundred at a time; with store it
// stores them (one write per shard per few hundred, and the summaries
// that are missing) and marks the month ready.
func (a *App) fillMonth(ctx context.Context, month string, ids []string, have map[string]*StatsEntry, store bool) error {
	const batch = 512
	for from := 0; from < len(ids); from += batch {
		var entries []*StatsEntry
		for sub := from; sub < min(from+batch, len(ids)); sub += 64 {
			list, err := a.store.GetIncidents(ctx, ids[sub:min(sub+64, from+batch, len(ids))])
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
				sum, e := a.figures(inc, events, items)
				if store {
					if _, err := createDoc(ctx, a.store, summaryDoc(inc.ID), sum); err != nil {
						return err
					}
				}
				entries = append(entries, e)
				have[e.ID] = e
			}
		}
		if store {
			if err := a.putStatsEntries(ctx, entries); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if !store {
		return nil
	}
	ready, _ := json.Marshal(map[string]any{"at": a.now().UTC(), "incidents": len(have)})
	_, err := a.store.CompareAndSetDoc(ctx, statsReadyDoc(month), nil, ready)
	return err
}
