package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// StartRequest is what the starter typed or filled into the dialog.
type StartRequest struct {
	TeamID   string
	ActorID  string
	Title    string
	Summary  string
	Severity incident.Severity // zero = incident.DefaultSeverity
}

// channelNameTries bounds retries with a fresh id when the channel name is
// taken (a leftover channel from an earlier id collision or by hand).
const channelNameTries = 3

// Start opens an incident: validates the input, creates the incident's
// channel, stores the incident, posts its card, records the start and
// announces it. Either all of channel, record and card exist afterwards, or
// none of them do.
func (a *App) Start(ctx context.Context, req StartRequest) (*incident.Incident, error) {
	inc, err := newIncident(req)
	if err != nil {
		return nil, err
	}
	if req.TeamID == "" {
		return nil, incident.Invalidf("incidents are started inside a team: run the command from a team channel")
	}
	ev := inc.Start(a.now(), req.ActorID)
	staffing := a.staff(ctx, inc)
	settings := a.settings()

	var undo undoStack
	defer undo.run(ctx, a)

	for try := 1; ; try++ {
		inc.ID = a.newID()
		inc.ChannelID, err = a.chat.CreateIncidentChannel(ctx, inc, settings.PrivateChannels)
		if err == nil {
			break
		}
		if !errors.Is(err, incident.ErrConflict) || try == channelNameTries {
			return nil, fmt.Errorf("start incident: create channel: %w", err)
		}
	}
	undo.push("archive channel", func(ctx context.Context) error { return a.chat.ArchiveChannel(ctx, inc.ChannelID) })

	if err := a.chat.AddToChannel(ctx, inc.ChannelID, req.ActorID); err != nil {
		return nil, fmt.Errorf("start incident: add starter to channel: %w", err)
	}
	for _, role := range incident.Roles {
		if u := inc.Roles[role]; u != "" && u != req.ActorID {
			a.join(ctx, inc, u)
		}
	}
	if err := a.store.CreateIncident(ctx, inc); err != nil {
		return nil, fmt.Errorf("start incident: store: %w", err)
	}
	undo.push("delete incident", func(ctx context.Context) error { return a.store.DeleteIncident(ctx, inc.ID) })

	postID, err := a.chat.PostCard(ctx, inc)
	if err != nil {
		return nil, fmt.Errorf("start incident: post card: %w", err)
	}
	undo.push("delete card", func(ctx context.Context) error { return a.chat.DeletePost(ctx, postID) })

	stored, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		i.CardPostID = postID
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("start incident: link card: %w", err)
	}
	undo.clear() // the incident is whole from here on

	// The card was rendered before it had its own post id; render it again
	// so its buttons carry the final state.
	if err := a.chat.UpdateCard(ctx, stored); err != nil {
		a.log.Warn().Err(err).Str("incident", inc.ID).Msg("re-render new card")
	}
	for _, e := range append([]incident.Event{ev}, staffing...) {
		_, _ = a.record(ctx, inc.ID, e)
	}
	if bc := settings.BroadcastChannelID; bc != "" {
		if err := a.notifier.Announce(ctx, stored, bc); err != nil {
			a.log.Warn().Err(err).Str("incident", inc.ID).Msg("announce incident")
		}
	}
	a.log.Info().Str("incident", inc.ID).Str("severity", inc.Severity.String()).Str("actor", req.ActorID).Msg("incident started")
	a.pageOnStart(ctx, stored)
	a.afterFreezeChange(ctx, ev)
	return stored, nil
}

func newIncident(req StartRequest) (*incident.Incident, error) {
	title, err := incident.CleanTitle(req.Title)
	if err != nil {
		return nil, err
	}
	summary, err := incident.CleanText("summary", req.Summary, incident.MaxSummaryRunes, false)
	if err != nil {
		return nil, err
	}
	sev := req.Severity
	if sev == 0 {
		sev = incident.DefaultSeverity
	}
	if !sev.Valid() {
		return nil, incident.Invalidf("unknown severity: use S1, S2, S3 or S4")
	}
	return &incident.Incident{Title: title, Summary: summary, Severity: sev, TeamID: req.TeamID}, nil
}

// undoStack collects compensating actions for a multi-step operation and
// runs them newest first unless cleared.
type undoStack []undoStep

type undoStep struct {
	what string
	do   func(context.Context) error
}

func (u *undoStack) push(what string, do func(context.Context) error) {
	*u = append(*u, undoStep{what, do})
}

func (u *undoStack) clear() { *u = nil }

func (u *undoStack) run(ctx context.Context, a *App) {
	// The caller's context may be cancelled already; cleanup must still run.
	ctx = context.WithoutCancel(ctx)
	for i := len(*u) - 1; i >= 0; i-- {
		s := (*u)[i]
		if err := s.do(ctx); err != nil {
			a.log.Error().Err(err).Str("step", s.what).Msg("undo half-made incident")
		}
	}
}
