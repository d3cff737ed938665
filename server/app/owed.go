package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Work owed by a document other than the incident record. A change to an
// incident's hotfixes or action items is stored in its own document, and
// what it owes (timeline events, the sign-off post, notices, the release
// manager's page) must neither be lost nor done twice. So the change and
// what it owes go into that document in one compare-and-set (its "owed"
// list, after the document was made findable in the work index); then
// the follow-up moves into the incident's outbox, where the incident's
// worker does it as it does any other, and leaves the document. Its
// events carry keys of their own and its steps are keyed by where they
// came from (FollowUp.Origin), so that moving it twice (a crash between
// the two writes) adds nothing twice. Work kind "owed" moves what a
// process that died left behind.

const kindOwed = "owed"

// owedDoc is the part of such a document this file reads: every other
// field stays as it is (see cas.Encode).
type owedDoc struct {
	Owed    []incident.FollowUp `json:"owed,omitempty"`
	OwedSeq int                 `json:"owed_seq,omitempty"`
}

// oweOn changes document name (of incident incidentID) with change, which
// returns the events and steps the change owes, and has them done by the
// incident's worker. change may run more than once and must have no side
// effects; it works on the document's own type T.
func oweOn[T any](ctx context.Context, a *App, name, incidentID string, change func(v *T, exists bool) ([]incident.Event, []incident.Step, error)) (*T, error) {
	out, err := storeOwed(ctx, a, name, change)
	if err != nil {
		return nil, err
	}
	if err := a.moveOwed(ctx, name, incidentID); err != nil {
		// Stored: the tick moves it.
		a.log.Warn().Err(err).Str("doc", name).Msg("hand owed work to the incident's worker; the tick does it")
	}
	return out, nil
}

// storeOwed is the first half of oweOn: the change and what it owes,
// stored in the document, which is findable in the work index first.
func storeOwed[T any](ctx context.Context, a *App, name string, change func(v *T, exists bool) ([]incident.Event, []incident.Step, error)) (*T, error) {
	// Findable before it is stored: should this process die between the
	// two writes, the tick moves it.
	if err := a.work.Schedule(ctx, kindOwed, name, a.now().Add(work.MaxDelay/2)); err != nil {
		return nil, err
	}
	var out *T
	err := cas.Default.Retry(ctx, func() (bool, error) {
		raw, err := a.store.GetDoc(ctx, name)
		if err != nil {
			return false, err
		}
		v, o := new(T), &owedDoc{}
		if raw != nil {
			if err := json.Unmarshal(raw, v); err != nil {
				return false, fmt.Errorf("decode %s: %w", name, err)
			}
			if err := json.Unmarshal(raw, o); err != nil {
				return false, fmt.Errorf("decode %s: %w", name, err)
			}
		}
		events, steps, err := change(v, raw != nil)
		if err != nil {
			return false, err
		}
		next, err := cas.Encode(raw, v)
		if err != nil {
			return false, err
		}
		if len(events) > 0 || len(steps) > 0 {
			o.OwedSeq++
			f := incident.FollowUp{ID: strconv.Itoa(o.OwedSeq), At: a.now().UTC(), Events: events, Steps: steps,
				Origin: name + "#" + strconv.Itoa(o.OwedSeq), Retry: true}
			for i := range f.Events {
				f.Events[i].Key = f.Origin + "/" + strconv.Itoa(i)
			}
			o.Owed = append(o.Owed, f)
			if next, err = cas.Encode(next, o); err != nil {
				return false, err
			}
		}
		ok, err := a.store.CompareAndSetDoc(ctx, name, raw, next)
		out = v
		return ok, err
	})
	if errors.Is(err, cas.ErrContended) {
		return nil, incident.Conflictf("%s: too many concurrent changes, try again", name)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// moveOwed moves the follow-ups owed by document name into the outbox of
// incident incidentID (each once, by origin), then removes them from the
// document.
func (a *App) moveOwed(ctx context.Context, name, incidentID string) error {
	raw, err := a.store.GetDoc(ctx, name)
	if err != nil || raw == nil {
		return err
	}
	var o owedDoc
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	if len(o.Owed) == 0 {
		return nil
	}
	_, err = a.commitWith(ctx, incidentID, func(i *incident.Incident, _ time.Time) error {
		moved := false
		for _, f := range o.Owed {
			if slices.ContainsFunc(i.Outbox, func(x incident.FollowUp) bool { return x.Origin == f.Origin }) {
				continue
			}
			i.OutboxSeq++
			f.ID = strconv.Itoa(i.OutboxSeq)
			i.Outbox = append(i.Outbox, f)
			moved = true
		}
		if !moved {
			return errUnchanged
		}
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return fmt.Errorf("move owed work of %s to incident %s: %w", name, incidentID, err)
	}
	if errors.Is(err, errUnchanged) {
		a.work.Wake(kindIncident, incidentID)
	}
	origins := make([]string, len(o.Owed))
	for i, f := range o.Owed {
		origins[i] = f.Origin
	}
	_, _, err = updateDoc(ctx, a.store, name, func(d *owedDoc, _ bool) error {
		n := len(d.Owed)
		d.Owed = slices.DeleteFunc(d.Owed, func(f incident.FollowUp) bool { return slices.Contains(origins, f.Origin) })
		if len(d.Owed) == n {
			return errUnchanged
		}
		return nil
	})
	return err
}

// runOwed is the worker of kind "owed": it moves what document job.Key
// still owes into its incident's outbox.
func (a *App) runOwed(ctx context.Context, job work.Job) (work.Outcome, error) {
	id, ok := owedIncident(job.Key)
	if !ok {
		return work.Outcome{}, nil
	}
	return work.Outcome{}, a.moveOwed(ctx, job.Key, id)
}

// owedIncident is the incident of a document that owes work: the last
// segment of hotfix/v1/<id> and actions/v1/<id>.
func owedIncident(name string) (string, bool) {
	for _, prefix := range []string{hotfixDoc(""), actionsDoc("")} {
		if id, ok := strings.CutPrefix(name, prefix); ok && id != "" {
			return id, true
		}
	}
	return "", false
}
