package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// fakeChat records what the app asked of the chat platform and can be told
// to fail at one step.
type fakeChat struct {
	mu        sync.Mutex
	channels  map[string]string // id -> name
	archived  []string
	members   map[string][]string
	cards     map[string]*incident.Incident // post id -> last rendering
	deleted   []string
	failAt    string        // "channel", "member", "card"
	gate      chan struct{} // when set, channel creation waits for it to close
	takenOnce bool          // the first channel name is taken
	published []incident.Event
	announced []string
	closed    []string // handover posts closed, "postID@acceptor"
	n         int
	rendered  int // card re-renders sent
	once      onceLog
}

func newFakeChat() *fakeChat {
	return &fakeChat{channels: map[string]string{}, members: map[string][]string{}, cards: map[string]*incident.Incident{}}
}

func (f *fakeChat) CreateIncidentChannel(_ context.Context, inc *incident.Incident, _ bool) (string, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt == "channel" {
		return "", errors.New("channel service down")
	}
	if f.takenOnce {
		f.takenOnce = false
		return "", &incident.Error{Kind: incident.KindConflict, Msg: "name taken"}
	}
	f.n++
	id := fmt.Sprintf("ch%d", f.n)
	f.channels[id] = "incident-" + inc.ID
	return id, nil
}

func (f *fakeChat) ArchiveChannel(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.archived = append(f.archived, id)
	return nil
}

func (f *fakeChat) AddToChannel(_ context.Context, ch, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt == "member" {
		return errors.New("cannot add")
	}
	f.members[ch] = append(f.members[ch], user)
	return nil
}

func (f *fakeChat) PostCard(ctx context.Context, inc *incident.Incident) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt == "card" {
		return "", "", errors.New("post failed")
	}
	key, earlier, dup := f.once.check(ctx, inc.ChannelID)
	if dup {
		return earlier, "", nil
	}
	f.n++
	defer func() { f.once.made(key, fmt.Sprintf("post%d", f.n)) }()
	id := fmt.Sprintf("post%d", f.n)
	f.cards[id] = inc.Clone()
	return id, fakeShows(inc), nil
}

func (f *fakeChat) UpdateCard(_ context.Context, inc *incident.Incident, shown string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := fakeShows(inc); now != shown {
		f.cards[inc.CardPostID] = inc.Clone()
		f.rendered++
		return now, nil
	}
	return shown, nil
}

// fakeShows is what the fake's card shows: the incident's state, not the
// time of its last change.
func fakeShows(inc *incident.Incident) string {
	var fields map[string]any
	raw, _ := json.Marshal(inc)
	_ = json.Unmarshal(raw, &fields)
	for _, k := range []string{"updated_at", "card_shown", "outbox", "outbox_seq", "lease", "timer", "started"} {
		delete(fields, k)
	}
	raw, _ = json.Marshal(fields)
	return string(raw)
}

func (f *fakeChat) DeletePost(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, id)
	delete(f.cards, id)
	return nil
}

func (f *fakeChat) Announce(ctx context.Context, inc *incident.Incident, ch string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key, _, dup := f.once.check(ctx, ch)
	if dup {
		return nil
	}
	f.once.made(key, "announce")
	f.announced = append(f.announced, inc.ID+"@"+ch)
	return nil
}

func (f *fakeChat) Publish(ctx context.Context, inc *incident.Incident, events []incident.Event, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range events {
		if f.once.checkEvent(ctx, ev.Key) {
			continue
		}
		f.published = append(f.published, ev)
	}
	return nil
}

// access lets everyone read every channel except those listed as private
// to other users.
type access map[string]string // channel -> the only user who may read it

// CanReadTeam: every team is open to everyone; private incidents are
// those whose channel is listed.
func (a access) CanReadTeam(context.Context, string, string) bool { return true }

func (a access) CanAccessChannel(_ context.Context, user, ch string) bool {
	only, ok := a[ch]
	return !ok || only == user
}

// admins is a Directory whose system admins are the listed users.
type admins map[string]bool

func (a admins) IsSystemAdmin(_ context.Context, user string) bool { return a[user] }

// IsActiveUser: a user listed as false is deactivated; everyone else is
// active.
func (a admins) IsActiveUser(_ context.Context, user string) bool {
	admin, listed := a[user]
	return admin || !listed
}

// env is an App over a real store and fake chat.
type env struct {
	app   *App
	store incident.Store
	chat  *fakeChat
	acc   access
	now   time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, defaultStore)
}

// newEnvOn is newEnv over a new store of kind s.
func newEnvOn(t testing.TB, s storeKind) *env {
	t.Helper()
	st := s.open(t)
	e := &env{store: st, chat: newFakeChat(), acc: access{}, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	ids := 0
	var mu sync.Mutex
	a, err := New(Deps{
		Inline: true,
		Store:  st, Chat: e.chat, Notifier: e.chat, Access: e.acc, Directory: admins{"root": true},
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings: func() Settings { return Settings{BroadcastChannelID: "bc"} },
		Clock: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			e.now = e.now.Add(time.Second)
			return e.now
		},
		IDs: func() string {
			mu.Lock()
			defer mu.Unlock()
			ids++
			return fmt.Sprintf("inc%03d", ids)
		},
		// The engine reads the same time without moving it on: its lease
		// watch measures how long a lease stood still, which a clock that
		// ticks a second per reading would make up.
		WorkClock: peekClock{func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return e.now
		}},
		Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	return e
}

// peekClock is a work.Clock that reads a test's time.
type peekClock struct{ now func() time.Time }

func (c peekClock) Now() time.Time                         { return c.now() }
func (c peekClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// derive returns a second App like a, changed by change, on a's store and
// clock, with a work engine of its own that runs its own handlers: another
// instance with other settings.
func (a *App) derive(change func(*App)) *App {
	c := *a
	change(&c)
	c.work = work.New(c.store, a.work.Clock(), work.Options{Inline: c.inline, Log: c.log})
	c.registerWork()
	return &c
}

// jsonCopy deep-copies v through JSON, as the store would hand it back, so
// a fake keeps what it was given, not a pointer the caller may change.
func jsonCopy[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var c T
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// fakePostmortems records published postmortems: "incident@channel" per
// publication.
type fakePostmortems struct {
	mu        sync.Mutex
	published []string
	once      onceLog
}

func (f *fakePostmortems) PublishPostmortem(ctx context.Context, inc *incident.Incident, _ []string, _ string, channelIDs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range channelIDs {
		key, _, dup := f.once.check(ctx, ch)
		if dup {
			continue
		}
		f.once.made(key, "postmortem")
		f.published = append(f.published, inc.ID+"@"+ch)
	}
	return nil
}

func (f *fakePostmortems) QuietName(userID string) string { return userID }

// onceLog plays the chat's side of exactly-once posting (see Once and the
// bot's create): it remembers the keys of the posts made, returns an
// earlier post to a retried step, and records as a violation a keyed post
// made again by a step that did not say it was a retry.
type onceLog struct {
	mu         sync.Mutex
	posts      map[string]string // key -> what was made
	events     map[string]bool   // keys of the events published
	violations []string
}

// check returns the key of the next effect on target and, when a retried
// step made it before, what it made.
func (o *onceLog) check(ctx context.Context, target string) (key, earlier string, dup bool) {
	key, retry, _, ok := work.Once(ctx, target)
	if !ok {
		return "", "", false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	prev, seen := o.posts[key]
	switch {
	case seen && retry:
		return key, prev, true
	case seen:
		o.violations = append(o.violations, "made twice without a retry: "+key)
	}
	return key, "", false
}

// checkEvent reports whether the event with key was published before by
// an attempt a retry may repeat (it is then not published again), as the
// bot's Publish looks for earlier posts only in a retried step; one
// published twice outside a retry is a violation.
func (o *onceLog) checkEvent(ctx context.Context, key string) bool {
	_, retry, _, ok := work.Once(ctx, "events")
	if !ok || key == "" {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.events == nil {
		o.events = map[string]bool{}
	}
	if o.events[key] {
		if retry {
			return true
		}
		o.violations = append(o.violations, "event published twice without a retry: "+key)
	}
	o.events[key] = true
	return false
}

// made records that the effect keyed key made what.
func (o *onceLog) made(key, what string) {
	if key == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.posts == nil {
		o.posts = map[string]string{}
	}
	o.posts[key] = what
}

func (o *onceLog) problems() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.violations...)
}
