package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// App runs the use cases. Build it with New; it is safe for concurrent use.
type App struct {
	store       incident.Store
	chat        Chat
	notifier    Notifier
	access      Access
	dir         Directory
	parse       Schedules
	settings    func() Settings
	now         Clock
	newID       IDs
	handoffs    Handoffs    // nil: rota handoffs are not announced
	reminders   Reminders   // nil: no status update reminders
	postmortems Postmortems // nil: postmortems are not posted
	pager       Pager       // nil: nobody is paged
	releases    Releases    // nil: no hotfix sign-off, freezes not announced
	runbooks    Runbooks    // nil: runbook checklists are kept but not posted
	onDuty      OnDuty      // nil: handles not answered, no on-duty header
	shifts      Shifts      // nil: no shift requests, no duty notices
	reach       Reach       // nil: pages stay in the chat
	names       Names       // nil: no archive export or import
	botID       string      // the bot account, which opens incidents on its own
	log         zerolog.Logger
	// inline does follow-up work before a use case returns instead of in
	// the background (tests).
	inline bool
	// hold, when set, receives follow-up work instead of running it: a
	// test runs it when it chooses (to count its cost apart, or to drop it
	// as a crash would).
	hold func(run func(context.Context))
	// background counts follow-up work running in goroutines, so that a
	// deactivating plugin can let it finish (see Quiesce).
	background *sync.WaitGroup
	// fills holds the months whose stats this process is computing.
	fills *sync.Map
	// work runs every piece of deferred and timed work (package work).
	work *work.Engine
	// boardSeen is when the on-duty boards next need a look; boards what
	// this instance last showed of each rota (under boardMu).
	boardSeen *atomic.Pointer[boardSeen]
	boards    map[string]*boardSeen
	// boardMu runs one board refresh at a time: refreshes after edits run
	// in the background, and one that read an older rota must not store
	// its view (and its next recheck) after one that read a newer.
	boardMu *sync.Mutex
	// live counts the live work this instance is doing (commands, buttons,
	// webhooks and their follow-up), which bulk jobs yield to.
	live *atomic.Int64
}

// Deps are App's collaborators.
type Deps struct {
	Store     incident.Store
	Chat      Chat
	Notifier  Notifier
	Access    Access
	Directory Directory
	Schedules Schedules
	Settings  func() Settings
	Clock     Clock
	IDs       IDs
	// Handoffs posts rota handoff announcements. Optional: without it
	// Tick announces no handoffs (use-case tests need not fake it).
	Handoffs Handoffs
	// Reminders sends overdue status update reminders. Optional, like
	// Handoffs.
	Reminders Reminders
	// Pager delivers pages. Optional, like Handoffs: without it nobody is
	// paged.
	Pager Pager
	// Postmortems posts postmortems. Optional, like Handoffs.
	Postmortems Postmortems
	// Releases shows hotfix sign-off and release freezes. Optional, like
	// Handoffs: without it hotfixes cannot be requested.
	Releases Releases
	// Runbooks posts runbook checklists. Optional, like Handoffs.
	Runbooks Runbooks
	// OnDuty answers on-duty handles and shows who is on duty in the rota
	// channel's header. Optional, like Handoffs.
	OnDuty OnDuty
	// Shifts posts shift requests and tells rota members about their
	// duty. Optional, like Handoffs.
	Shifts Shifts
	// Reach sends pages beyond the chat (email, webhooks). Optional, like
	// Handoffs.
	Reach Reach
	// Names names users, channels and teams for the incident archive, and
	// finds them again on import. Optional: without it archives cannot be
	// exported or imported.
	Names Names
	// Inline makes every use case finish its follow-up work (card, posts,
	// pages, timeline events) before it returns, as far as it can now;
	// without it the work runs in the background, right after the change
	// is stored. Tests use it for determinism.
	Inline bool
	// Work tunes the work engine (workers, per-tick bounds); its clock,
	// inline mode and dead-letter notices come from the app.
	Work work.Options
	// WorkClock is the engine's clock when it must differ from Clock (a
	// node's clock offset in tests); nil: Clock.
	WorkClock work.Clock
	// DeadLetters is told, once, of work set aside after failing too
	// often, with what to do. Optional: without it only the log says so.
	DeadLetters func(ctx context.Context, d work.DeadLetter)
	// BotID is the bot account's user id: heartbeats open incidents as
	// it, as the alert webhook does.
	BotID string
	Log   zerolog.Logger
}

// appClock is the app's Clock as the work engine's: the engine's index
// and the app's due times must tell the same time.
type appClock struct{ now Clock }

func (c appClock) Now() time.Time                         { return c.now() }
func (c appClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// New builds an App; every dependency is required except Handoffs,
// Reminders, Pager, Postmortems and Releases.
func New(d Deps) (*App, error) {
	if d.Store == nil || d.Chat == nil || d.Notifier == nil || d.Access == nil || d.Settings == nil || d.Clock == nil || d.IDs == nil ||
		d.Directory == nil || d.Schedules == nil {
		return nil, errors.New("new app: a dependency is missing")
	}
	a := &App{store: d.Store, chat: d.Chat, notifier: d.Notifier, access: d.Access,
		dir: d.Directory, parse: d.Schedules, settings: d.Settings, now: d.Clock, newID: d.IDs, handoffs: d.Handoffs, reminders: d.Reminders, pager: d.Pager, postmortems: d.Postmortems, releases: d.Releases, runbooks: d.Runbooks, inline: d.Inline, log: d.Log,
		background: new(sync.WaitGroup), fills: new(sync.Map),
		onDuty: d.OnDuty, shifts: d.Shifts, reach: d.Reach, names: d.Names, botID: d.BotID, boardSeen: newBoardSeen(), boards: map[string]*boardSeen{}, boardMu: new(sync.Mutex), live: new(atomic.Int64)}
	clock := d.WorkClock
	if clock == nil {
		clock = appClock{d.Clock}
	}
	o := d.Work
	o.Inline, o.Log, o.OnDead = d.Inline, d.Log, d.DeadLetters
	a.work = work.New(d.Store, clock, o)
	a.registerWork()
	return a, nil
}

// registerWork registers the app's handlers of each kind of work.
func (a *App) registerWork() {
	a.work.Register(kindIncident, a.runIncident)
	a.work.Register(kindPage, a.runPage)
	a.work.Register(kindFreeze, a.runFreeze)
	a.work.Register(kindAlertLink, a.runAlertLink)
	a.work.Register(kindHandoff, a.runHandoff)
	a.work.Register(kindOwed, a.runOwed)
	a.work.Register(kindHeartbeat, a.runHeartbeat)
	a.work.Register(kindReach, a.runReach)
	a.work.Register(kindMaintenance, a.runMaintenance)
	a.work.Register(kindHeld, a.runHeldAlert)
}

// SetHold has follow-up work handed to hold instead of run (tests): see
// work.Options.Hold.
func (a *App) SetHold(hold func(run func(context.Context))) {
	a.hold = hold
	a.work.SetHold(hold)
}

// appendRetries bounds how often an event append is retried after an
// infrastructure error before it is logged as lost.
const appendRetries = 3

// record appends ev to the timeline. The incident record is already
// written, so a failure here must not be silent: retry, then log the whole
// event so that it can be recovered from the server log. Within a
// follow-up step the event is keyed, so a retried step appends it once.
func (a *App) record(ctx context.Context, incidentID string, ev incident.Event) (incident.Event, error) {
	retry, since := false, time.Time{}
	if ev.Key == "" {
		ev.Key, retry, since, _ = work.Once(ctx, "")
	}
	var err error
	for i := 0; i < appendRetries; i++ {
		var out incident.Event
		if out, err = a.appendOnce(ctx, incidentID, ev, retry || i > 0, since); err == nil {
			return out, nil
		}
	}
	a.log.Error().Err(err).Str("incident", incidentID).Str("event_type", string(ev.Type)).
		Str("actor", ev.Actor).Time("at", ev.At).Str("text", ev.Text).Interface("data", ev.Data).
		Msg("timeline append failed; event kept only in this log line")
	return ev, fmt.Errorf("append %s event to incident %s: %w", ev.Type, incidentID, err)
}

// Quiesce waits until the follow-up work running in the background has
// finished, or ctx ends. A plugin being disabled or upgraded calls it, so
// that work in flight completes instead of waiting for another instance
// to take it over once its lease or claim goes stale.
func (a *App) Quiesce(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		a.background.Wait()
		_ = a.work.Quiesce(ctx)
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goBackground runs f in a goroutine that Quiesce waits for. It is the
// follow-up of live work, so bulk jobs yield to it (see Live).
func (a *App) goBackground(f func()) {
	a.background.Add(1)
	done := a.Live()
	go func() {
		defer a.background.Done()
		defer done()
		f()
	}()
}
