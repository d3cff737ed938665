package app

import (
	"context"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
)

// Postmortems publishes rendered postmortems.
type Postmortems interface {
	// PublishPostmortem posts parts (each under the post limit) in each
	// channel and attaches the whole Markdown as a file.
	PublishPostmortem(ctx context.Context, inc *incident.Incident, parts []string, markdown string, channelIDs []string) error
	// QuietName shows a user without notifying them.
	QuietName(userID string) string
}

// Postmortem renders the incident's postmortem from its record, timeline
// and action items: one read per timeline chunk plus a constant. An
// incident still open renders as a draft.
func (a *App) Postmortem(ctx context.Context, inc *incident.Incident) (string, error) {
	events, err := a.store.Timeline(ctx, inc.ID)
	if err != nil {
		return "", err
	}
	return a.PostmortemOf(ctx, inc, events)
}

// PostmortemOf is Postmortem with the incident's timeline already read.
func (a *App) PostmortemOf(ctx context.Context, inc *incident.Incident, events []incident.Event) (string, error) {
	items, err := a.ActionItems(ctx, inc)
	if err != nil {
		return "", err
	}
	s := a.settings()
	in := postmortem.Input{
		Incident: inc, Timeline: events, Impact: inc.Impact, Cadence: s.UpdateCadence[inc.Severity],
		Location: s.Location, Now: a.now(),
	}
	if a.postmortems != nil {
		in.Name = a.postmortems.QuietName
	}
	if c, ok, err := a.Checklist(ctx, inc); err != nil {
		return "", err
	} else if ok {
		in.Checklist = c
	}
	for _, it := range items.Items {
		in.Actions = append(in.Actions, postmortem.ActionItem{N: it.N, Text: it.Text, Owner: it.Owner, Due: it.Due, Done: it.Done, DoneAt: it.DoneAt})
	}
	return postmortem.Render(in), nil
}

// PublishPostmortem renders the postmortem and posts it in the incident
// channel and the postmortems channel, split cleanly under the post limit
// and attached as a Markdown file.
func (a *App) PublishPostmortem(ctx context.Context, actor string, inc *incident.Incident) error {
	if a.postmortems == nil {
		return fmt.Errorf("publish postmortem: not configured")
	}
	md, err := a.Postmortem(ctx, inc)
	if err != nil {
		return err
	}
	channels := []string{inc.ChannelID}
	pc := a.settings().PostmortemChannelID
	view, shown := a.shared(inc)
	if pc != "" && pc != inc.ChannelID && shown && !view.Redacted() {
		channels = append(channels, pc)
	}
	parts := postmortem.Split(md, postmortem.PostLimit)
	if err := a.postmortems.PublishPostmortem(ctx, inc, parts, md, channels); err != nil {
		return err
	}
	if pc != "" && pc != inc.ChannelID && shown && view.Redacted() {
		// Leads learn that there is one, and whom to ask; the body stays
		// in the private channel.
		stub := postmortem.Stub(inc, a.postmortems.QuietName)
		if err := a.postmortems.PublishPostmortem(ctx, view, []string{stub}, "", []string{pc}); err != nil {
			return err
		}
	}
	if err := a.proposeRunbookChange(ctx, inc); err != nil {
		return err
	}
	draft := "final"
	if inc.Status != incident.StatusResolved {
		draft = "draft"
	}
	// Within the resolve's follow-up a failure here retries the step,
	// whose keyed posts are not made twice.
	_, err = a.record(ctx, inc.ID, incident.NewEvent(a.now(), actor, incident.EventPostmortem, draft).With("parts", fmt.Sprint(len(parts))))
	return err
}
