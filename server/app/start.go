package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// StartRequest is what the starter typed or filled into the dialog.
type StartRequest struct {
	// ID is the incident's id when the caller derives it (an alert's, so
	// that a retry finds what an earlier attempt opened); "" = a new one.
	ID       string
	TeamID   string
	ActorID  string
	Title    string
	Summary  string
	Severity incident.Severity // zero = incident.DefaultSeverity
	// Runbook names the runbook the incident follows; "" = the first
	// runbook rule that matches, if any.
	Runbook string
	// Labels are the labels of the alert that opens the incident, for the
	// runbook rules.
	Labels map[string]string
	// AlertLink names the link document of the alert that opens it.
	AlertLink string
	// Rota names the rota that staffs the incident; "" = the first rota
	// rule that matches, else the team's rota, else the first.
	Rota string
	// ChannelID is the channel the incident is started from, for the
	// rota rules; "" for alerts.
	ChannelID string
}

// channelNameTries bounds retries with a fresh id when the channel name is
// taken (a leftover channel from an earlier id collision or by hand).
const channelNameTries = 3

// Start opens an incident: it validates the input, staffs the roles from
// the rota, creates the incident's channel with the starter in it and
// stores the incident, whose follow-up owes the rest: the timeline events,
// the card, the role holders in the channel, the first line's page, the
// announcement and the release freeze. It returns as soon as the incident
// is stored; the worker does the follow-up right after. Either channel and
// record both exist afterwards, or neither does.
func (a *App) Start(ctx context.Context, req StartRequest) (*incident.Incident, error) {
	began := time.Now()
	inc, err := newIncident(req)
	if err != nil {
		return nil, err
	}
	if req.TeamID == "" {
		return nil, incident.Invalidf("incidents are started inside a team: run the command from a team channel")
	}
	book, why, err := a.startRunbook(ctx, req, inc)
	if err != nil {
		return nil, err
	}
	var routed string
	if inc.Rota, routed, err = a.rotaForStart(ctx, req, inc); err != nil {
		return nil, err
	}
	ev := inc.Start(a.now(), req.ActorID)
	if inc.Rota != FirstRotaName || routed != "" {
		ev = ev.With(incident.DataRota, inc.Rota)
		if routed != "" {
			ev = ev.With(incident.DataWhy, routed)
		}
	}
	settings := a.settings()
	inc.Private = settings.PrivateChannels
	inc.AlertLink = req.AlertLink

	// The rota is read, and the incident made findable in the work index,
	// while the channel is made: staffing fills only the roles, which the
	// channel does not need, and an entry armed before the record is
	// stored has the tick do the follow-up should this process die right
	// after (one whose start fails finds nothing to do).
	var (
		staffing []incident.Event
		timer    int64
		armErr   error
	)
	inc.ID = req.ID
	if inc.ID == "" {
		inc.ID = a.newID()
	}
	staffed, armed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(staffed)
		staffing = a.staff(ctx, inc)
	}()
	go func() {
		defer close(armed)
		timer, armErr = a.work.Arm(ctx, kindIncident, inc.ID)
	}()
	var undo undoStack
	defer undo.run(ctx, a)
	defer func() { <-staffed; <-armed }()

	for try := 1; ; try++ {
		inc.ChannelID, err = a.chat.CreateIncidentChannel(ctx, inc, settings.PrivateChannels)
		if err == nil {
			break
		}
		if !errors.Is(err, incident.ErrConflict) || try == channelNameTries || req.ID != "" {
			return nil, fmt.Errorf("start incident: create channel: %w", err)
		}
		// The name is taken: another id, armed afresh.
		<-armed
		inc.ID = a.newID()
		timer, armErr = a.work.Arm(ctx, kindIncident, inc.ID)
	}
	undo.push("archive channel", func(ctx context.Context) error { return a.chat.ArchiveChannel(ctx, inc.ChannelID) })
	created := time.Now()

	// The starter of a private incident joins before the answer, which
	// takes them to a channel they could not open otherwise; anyone may
	// open a public channel, so there the join is the follow-up's first
	// step, and the answer does not wait for the server's slowest call.
	if settings.PrivateChannels {
		if err := a.chat.AddToChannel(ctx, inc.ChannelID, req.ActorID); err != nil {
			return nil, fmt.Errorf("start incident: add starter to channel: %w", err)
		}
	}
	<-armed
	<-staffed
	if armErr != nil {
		return nil, fmt.Errorf("start incident: %w", armErr)
	}
	inc.Timer = timer
	events, steps := append([]incident.Event{ev}, staffing...), startSteps(inc, !settings.PrivateChannels)
	if book != nil {
		c := runbook.NewChecklist(inc.ID, *book, req.ActorID, why, inc.CreatedAt)
		if err := a.storeChecklist(ctx, c); err != nil {
			return nil, fmt.Errorf("start incident: %w", err)
		}
		undo.push("delete checklist", func(ctx context.Context) error {
			_, err := a.store.CompareAndSetDoc(ctx, checklistDoc(inc.ID), mustJSON(c), nil)
			return err
		})
		inc.Runbook = progressOf(c)
		events = append(events, attachedEvent(inc.CreatedAt, req.ActorID, c))
		steps = withChecklist(steps)
	}
	inc.Owe(inc.CreatedAt, events, steps...)
	// The listings' indexes are the follow-up's first step (StepIndex).
	if err := a.store.InsertIncident(ctx, inc); err != nil {
		if !errors.Is(err, incident.ErrConflict) { // a conflict wrote nothing; anything else may have
			undo.push("delete incident", func(ctx context.Context) error { return a.store.DeleteIncident(ctx, inc.ID) })
		}
		return nil, fmt.Errorf("start incident: store: %w", err)
	}
	undo.clear() // the incident is whole from here on
	a.log.Info().Str("incident", inc.ID).Str("severity", inc.Severity.String()).Str("actor", req.ActorID).
		Dur("channel_ms", created.Sub(began)).Dur("store_ms", time.Since(created)).Msg("incident started")
	a.work.Wake(kindIncident, inc.ID)
	return inc, nil
}

// startSteps are the steps a new incident owes after its events: its
// listings' indexes; the first line's page, which cannot wait (it reaches
// them by direct message wherever it is posted); the starter (joinStarter)
// and the role holders into the channel, so that the card, which mentions
// them, reaches members; the card; then the announcement and the freeze.
func startSteps(inc *incident.Incident, joinStarter bool) []incident.Step {
	steps := []incident.Step{{Kind: incident.StepIndex}, {Kind: incident.StepPageStart}}
	join := func(u string) {
		if u != "" && (u != inc.CreatedBy || joinStarter) && !slices.ContainsFunc(steps, func(s incident.Step) bool { return s.User == u }) {
			steps = append(steps, incident.Step{Kind: incident.StepJoin, User: u})
		}
	}
	join(inc.CreatedBy)
	for _, role := range incident.Roles {
		join(inc.Roles[role])
	}
	return append(steps, incident.Step{Kind: incident.StepCard}, incident.Step{Kind: incident.StepAnnounce}, incident.Step{Kind: incident.StepFreeze})
}

// withChecklist puts the checklist step right after the card: the role
// holders are in the channel by then, so its mentions reach members.
func withChecklist(steps []incident.Step) []incident.Step {
	for i, s := range steps {
		if s.Kind == incident.StepCard {
			return slices.Insert(steps, i+1, incident.Step{Kind: incident.StepChecklist})
		}
	}
	return append(steps, incident.Step{Kind: incident.StepChecklist})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
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
