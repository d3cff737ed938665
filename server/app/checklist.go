package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Runbooks shows incidents' runbook checklists in chat.
type Runbooks interface {
	// PostChecklist posts c in the incident channel with a Done and a Skip
	// button per open step, mentioning the holders in mention (role ->
	// user) beside their steps; it returns the post id.
	PostChecklist(ctx context.Context, inc *incident.Incident, c *runbook.Checklist, mention map[incident.Role]string) (string, error)
	// UpdateChecklist re-renders the checklist post to show c; editing
	// notifies nobody.
	UpdateChecklist(ctx context.Context, inc *incident.Incident, c *runbook.Checklist) error
	// MentionStepHolders tells holders who got a role after the checklist
	// was posted about their steps, in reply to the checklist post.
	MentionStepHolders(ctx context.Context, inc *incident.Incident, c *runbook.Checklist, mention map[incident.Role]string) error
	// PostProposal posts the steps added during the incident as a proposed
	// runbook change in the incident channel, with an Apply to runbook
	// button for admins; proposed is the Markdown of the next version.
	PostProposal(ctx context.Context, inc *incident.Incident, c *runbook.Checklist, proposed string) error
}

// checklistDoc is the document of an incident's runbook checklist.
func checklistDoc(incidentID string) string { return "runbook/v1/" + incidentID }

// Checklist returns the incident's runbook checklist; ok is false when it
// follows none.
func (a *App) Checklist(ctx context.Context, inc *incident.Incident) (c *runbook.Checklist, ok bool, err error) {
	return loadDoc[runbook.Checklist](ctx, a.store, checklistDoc(inc.ID))
}

// startRunbook picks the runbook a new incident follows: the one named, else
// the first rule that matches; nil if none. A named runbook that does not
// exist is an error; a rule's that does not is logged and skipped.
func (a *App) startRunbook(ctx context.Context, req StartRequest, inc *incident.Incident) (*runbook.Definition, string, error) {
	if strings.TrimSpace(req.Runbook) != "" {
		d, err := a.Runbook(ctx, req.Runbook)
		return d, "chosen at start", err
	}
	r, ok := runbook.Match(a.settings().RunbookRules, inc.Severity, inc.Title, req.Labels)
	if !ok {
		return nil, "", nil
	}
	d, err := a.Runbook(ctx, r.Runbook)
	if err != nil {
		a.log.Warn().Err(err).Str("rule", r.String()).Msg("runbook rule names a runbook that cannot be read; no runbook attached")
		return nil, "", nil
	}
	return d, "rule " + r.String(), nil
}

// storeChecklist inserts the incident's checklist; an incident that has
// one already is a conflict.
func (a *App) storeChecklist(ctx context.Context, c *runbook.Checklist) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ok, err := a.store.CompareAndSetDoc(ctx, checklistDoc(c.Incident), nil, b)
	if err != nil {
		return fmt.Errorf("store checklist: %w", err)
	}
	if !ok {
		old, _, err := loadDoc[runbook.Checklist](ctx, a.store, checklistDoc(c.Incident))
		if err != nil {
			return err
		}
		return incident.Conflictf("incident #%s follows runbook %s (version %d) already", c.Incident, old.Runbook, old.Version)
	}
	return nil
}

func progressOf(c *runbook.Checklist) *incident.RunbookProgress {
	closed, total := c.Progress()
	return &incident.RunbookProgress{Name: c.Runbook, Version: c.Version, Closed: closed, Total: total, Rev: c.Rev}
}

func attachedEvent(at time.Time, actor string, c *runbook.Checklist) incident.Event {
	return incident.NewEvent(at, actor, incident.EventRunbookAttached, c.Why).
		With(incident.DataRunbook, c.Runbook).With(incident.DataVersion, strconv.Itoa(c.Version))
}

// UseRunbook attaches the current version of runbook name to an active
// incident that follows none yet; anyone who can read the incident may.
func (a *App) UseRunbook(ctx context.Context, actor string, inc *incident.Incident, name string) (*runbook.Checklist, error) {
	if err := a.mayActOn(ctx, actor, inc); err != nil {
		return nil, err
	}
	if !inc.Status.Active() {
		return nil, incident.Conflictf("incident %s is resolved; reopen it to follow a runbook", inc.ShortRef())
	}
	d, err := a.Runbook(ctx, name)
	if err != nil {
		return nil, err
	}
	c := runbook.NewChecklist(inc.ID, *d, actor, "attached later", a.now())
	if err := a.storeChecklist(ctx, c); err != nil {
		return nil, err
	}
	_, _, err = a.commit(ctx, inc.ID, func(i *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		i.Runbook = progressOf(c)
		return []incident.Event{attachedEvent(now, actor, c)},
			[]incident.Step{{Kind: incident.StepChecklist}, {Kind: incident.StepCard}}, nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// mayActOn: only people who can read the incident act on its checklist.
func (a *App) mayActOn(ctx context.Context, actor string, inc *incident.Incident) error {
	if actor == incident.ActorSystem || a.access.CanAccessChannel(ctx, actor, inc.ChannelID) {
		return nil
	}
	return incident.NotFoundf("no incident #%s: `/incident list` shows the open ones", inc.ID)
}

// StepDone marks step n of the incident's checklist done. Of two people
// pressing at once one wins; the other is told it is done already.
func (a *App) StepDone(ctx context.Context, actor string, inc *incident.Incident, n int) (runbook.Item, error) {
	return a.changeChecklist(ctx, actor, inc, func(c *runbook.Checklist, now time.Time) (runbook.Item, incident.Event, error) {
		it, err := c.Done(n, actor, now)
		return it, stepEvent(now, actor, incident.EventStepDone, it), err
	})
}

// StepSkip marks step n skipped, for reason.
func (a *App) StepSkip(ctx context.Context, actor string, inc *incident.Incident, n int, reason string) (runbook.Item, error) {
	return a.changeChecklist(ctx, actor, inc, func(c *runbook.Checklist, now time.Time) (runbook.Item, incident.Event, error) {
		it, err := c.Skip(n, actor, reason, now)
		return it, stepEvent(now, actor, incident.EventStepSkipped, it).With(incident.DataReason, it.Reason), err
	})
}

// StepUndo opens step n again.
func (a *App) StepUndo(ctx context.Context, actor string, inc *incident.Incident, n int) (runbook.Item, error) {
	return a.changeChecklist(ctx, actor, inc, func(c *runbook.Checklist, now time.Time) (runbook.Item, incident.Event, error) {
		it, err := c.Undo(n)
		return it, stepEvent(now, actor, incident.EventStepUndone, it).With(incident.DataFrom, string(it.Status)), err
	})
}

// StepAdd adds a step the runbook lacked, for role ("" = anyone); the
// postmortem proposes it as a runbook change.
func (a *App) StepAdd(ctx context.Context, actor string, inc *incident.Incident, text string, role incident.Role) (runbook.Item, error) {
	return a.changeChecklist(ctx, actor, inc, func(c *runbook.Checklist, now time.Time) (runbook.Item, incident.Event, error) {
		it, err := c.Add(text, role, actor, now)
		return it, stepEvent(now, actor, incident.EventStepAdded, it), err
	})
}

func stepEvent(at time.Time, actor string, typ incident.EventType, it runbook.Item) incident.Event {
	ev := incident.NewEvent(at, actor, typ, it.Text).With(incident.DataStep, strconv.Itoa(it.N))
	if it.Role != "" {
		ev = ev.With(incident.DataRole, string(it.Role))
	}
	return ev
}

// changeChecklist applies change to the checklist by compare-and-set (the
// checklist decides who wins a race), then commits the event with the
// card's progress and the checklist post's re-rendering as follow-up.
func (a *App) changeChecklist(ctx context.Context, actor string, inc *incident.Incident, change func(c *runbook.Checklist, now time.Time) (runbook.Item, incident.Event, error)) (runbook.Item, error) {
	if err := a.mayActOn(ctx, actor, inc); err != nil {
		return runbook.Item{}, err
	}
	var (
		it runbook.Item
		ev incident.Event
	)
	c, _, err := updateDoc(ctx, a.store, checklistDoc(inc.ID), func(c *runbook.Checklist, exists bool) error {
		if !exists {
			return incident.NotFoundf("incident %s follows no runbook: `/incident runbook use <name>` attaches one", inc.ShortRef())
		}
		var err error
		it, ev, err = change(c, a.now())
		return err
	})
	if err != nil {
		return runbook.Item{}, err
	}
	_, _, err = a.commit(ctx, inc.ID, func(i *incident.Incident, _ time.Time) ([]incident.Event, []incident.Step, error) {
		if i.Runbook == nil || i.Runbook.Rev < c.Rev {
			i.Runbook = progressOf(c)
		}
		return []incident.Event{ev}, []incident.Step{{Kind: incident.StepChecklist}, {Kind: incident.StepCard}}, nil
	})
	if err != nil {
		// The checklist changed; only its event and posts are late. The
		// next change (or a retry of this one) brings them up to date.
		return it, fmt.Errorf("record step %d: %w", it.N, err)
	}
	return it, nil
}

// stepChecklist is the follow-up step StepChecklist: it posts the checklist
// if it has no post yet, else re-renders it, and mentions each role's
// holder once for their steps (again when the role changes hands).
func (a *App) stepChecklist(ctx context.Context, inc *incident.Incident) error {
	if a.runbooks == nil {
		return nil
	}
	c, ok, err := a.Checklist(ctx, inc)
	if err != nil || !ok {
		return err
	}
	mention := map[incident.Role]string{}
	for _, it := range c.Items {
		if it.Role == "" || it.Status != runbook.StatusOpen {
			continue
		}
		if u := inc.Roles[it.Role]; u != "" && c.Mentioned[it.Role] != u {
			mention[it.Role] = u
		}
	}
	postID := c.PostID
	if postID == "" {
		if postID, err = a.runbooks.PostChecklist(ctx, inc, c, mention); err != nil {
			return err
		}
	} else {
		if err := a.runbooks.UpdateChecklist(ctx, inc, c); err != nil {
			return err
		}
		if len(mention) > 0 {
			if err := a.runbooks.MentionStepHolders(ctx, inc, c, mention); err != nil {
				return err
			}
		}
	}
	if postID == c.PostID && len(mention) == 0 {
		return nil
	}
	first := c.PostID == ""
	c, _, err = updateDoc(ctx, a.store, checklistDoc(inc.ID), func(c *runbook.Checklist, exists bool) error {
		if !exists {
			return errUnchanged
		}
		if c.PostID == "" {
			c.PostID = postID
		}
		if c.Mentioned == nil {
			c.Mentioned = map[incident.Role]string{}
		}
		for r, u := range mention {
			c.Mentioned[r] = u
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("link checklist post: %w", err)
	}
	if first {
		// Rendered before it was linked; render again from what is
		// stored now (steps may have changed meanwhile).
		return a.runbooks.UpdateChecklist(ctx, inc, c)
	}
	return nil
}

// ChecklistPost returns the checklist of the incident whose checklist post
// is postID: buttons act only from that post.
func (a *App) ChecklistPost(ctx context.Context, incidentID, postID string) (*incident.Incident, *runbook.Checklist, error) {
	inc, err := a.store.GetIncident(ctx, incidentID)
	if err != nil {
		return nil, nil, err
	}
	c, ok, err := a.Checklist(ctx, inc)
	if err != nil {
		return nil, nil, err
	}
	if !ok || c.PostID == "" || c.PostID != postID {
		return nil, nil, incident.Forbiddenf("this is not the incident's checklist")
	}
	return inc, c, nil
}

// ApplyProposedSteps makes the steps added during the incident a new
// version of its runbook (system and rota admins), once. A running
// incident keeps the version it follows.
func (a *App) ApplyProposedSteps(ctx context.Context, actor string, inc *incident.Incident) (*runbook.Definition, error) {
	if !a.mayEditRota(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins and rota admins may change runbooks")
	}
	c, ok, err := a.Checklist(ctx, inc)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, incident.NotFoundf("incident %s follows no runbook", inc.ShortRef())
	}
	added := c.Added()
	if len(added) == 0 {
		return nil, incident.Invalidf("no steps were added during incident %s", inc.ShortRef())
	}
	// Claim first, so that two admins pressing at once make one version.
	owner, name := cas.NewOwner(), checklistDoc(inc.ID)
	seen := c.Applying
	if seen.Held() && !a.work.Watch().MayTake(name, seen) {
		return nil, incident.Conflictf("the proposed steps are being applied to runbook %s right now", c.Runbook)
	}
	_, _, err = updateDoc(ctx, a.store, name, func(c *runbook.Checklist, _ bool) error {
		if c.Applied > 0 {
			return incident.Conflictf("the proposed steps were applied already, as version %d of runbook %s", c.Applied, c.Runbook)
		}
		if c.Applying != seen {
			return incident.Conflictf("the proposed steps are being applied to runbook %s right now", c.Runbook)
		}
		c.Applying.Take(owner, a.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	ctx, stop := work.Hold(ctx, a.work.Clock(), func(ctx context.Context) (bool, error) {
		_, _, err := updateDoc(ctx, a.store, name, func(c *runbook.Checklist, _ bool) error {
			if !c.Applying.HeldBy(owner) {
				return errLeaseLost
			}
			c.Applying.Renew(a.now())
			return nil
		})
		if errors.Is(err, errLeaseLost) {
			return false, nil
		}
		return err == nil, err
	})
	defer stop()
	release := func(v int) {
		_, _, err := updateDoc(context.WithoutCancel(ctx), a.store, name, func(c *runbook.Checklist, _ bool) error {
			if !c.Applying.HeldBy(owner) {
				return errUnchanged
			}
			c.Applied = v
			c.Applying.Release()
			return nil
		})
		if err != nil {
			a.log.Error().Err(err).Str("incident", inc.ID).Msg("record applied runbook change")
		}
	}
	cur, err := a.Runbook(ctx, c.Runbook)
	if err != nil {
		release(0)
		return nil, err
	}
	d, err := a.saveRunbook(ctx, actor, cur.Name, cur.Description, runbook.Propose(cur.Markdown, added))
	if err != nil {
		release(0)
		return nil, err
	}
	release(d.Version)
	_, err = a.record(ctx, inc.ID, incident.NewEvent(a.now(), actor, incident.EventRunbookChanged, fmt.Sprintf("%d added steps", len(added))).
		With(incident.DataRunbook, d.Name).With(incident.DataVersion, strconv.Itoa(d.Version)))
	return d, err
}

// proposeRunbookChange posts the steps added during the incident as a
// proposed runbook change, unless there are none or they were applied.
func (a *App) proposeRunbookChange(ctx context.Context, inc *incident.Incident) error {
	if a.runbooks == nil {
		return nil
	}
	c, ok, err := a.Checklist(ctx, inc)
	if err != nil || !ok || c.Applied != 0 {
		return err
	}
	added := c.Added()
	if len(added) == 0 {
		return nil
	}
	base := ""
	if cur, err := a.Runbook(ctx, c.Runbook); err == nil {
		base = cur.Markdown
	} else if d, err := a.RunbookVersion(ctx, c.Runbook, c.Version); err == nil {
		base = d.Markdown
	}
	return a.runbooks.PostProposal(ctx, inc, c, runbook.Propose(base, added))
}
