package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Paging: a page asks someone to respond to an incident, in the rota
// channel (or the incident channel) and by direct message, until someone
// acknowledges it. Unacknowledged, it escalates along
// incident.EscalationChain (L1, L2, L3, IM: the incident's current holders,
// skipping open roles and people already paged) every AckTimeout of the
// incident's severity, and notifies its current target again every
// Renotify.
//
// The page record (a document, written only by compare-and-set) is the one
// source of truth, and every notification follows claim-then-send:
//
//  1. The timer (or the command that opens the page) claims the next
//     notification on the record: it moves the record on (new level,
//     notice number, times) and sets Sending, all in one compare-and-set
//     that succeeds only on a record that is neither acknowledged nor
//     closed nor claimed by someone else. Only the instance whose write
//     lands sends.
//  2. It sends, then completes the claim (records the posts, clears
//     Sending, sets the next due time).
//
// An acknowledgement (or a close) is a compare-and-set that sets AckedAt
// (ClosedAt) at once, whatever is being sent. Once it is recorded no claim
// can succeed, and a send in flight makes no further post: its sender
// checks the record before each post (see page_claim.go), then records and
// re-renders what it sent, so that it shows the acknowledgement.
//
// Pending timers live in the store too (see page_due.go), so they fire after
// a restart and, with Tick running once per cluster and the claim deciding
// who sends, once across a cluster.
const (
	// MaxPageMessageRunes bounds a page's message.
	MaxPageMessageRunes = 1000
	// sendRetry is how soon a notification that reached nobody (no post
	// could be made) is tried again.
	sendRetry = 30 * time.Second
	// pageRenders bounds the re-renders of a page's posts; see renderPage.
	pageRenders = 5
)

// Pager delivers pages as the bot.
type Pager interface {
	// NotifyPage delivers notice n of page p to its target,
	// p.Targets[n.Level-1]. A page or an escalation is a post in
	// p.ChannelID mentioning the target plus a direct message, both with an
	// Acknowledge button; a re-notification is a reminder in reply to the
	// target's earlier posts (or new posts if there are none). It returns
	// what it delivered, also when it returns an error for a part that
	// failed.
	NotifyPage(ctx context.Context, p *Page, inc *incident.Incident, n Notice) (Delivery, error)
	// PagePosts finds the page's posts with an Acknowledge button made
	// since since, in its channel and its targets' direct messages,
	// recorded or not: a sender that died before recording its posts
	// leaves some behind.
	PagePosts(ctx context.Context, p *Page, since time.Time) ([]PagePost, error)
	// UpdatePage re-renders every post in p.Posts to show p's state: the
	// escalation so far, or who acknowledged it and when, without a button.
	// Editing a post notifies nobody.
	UpdatePage(ctx context.Context, p *Page, inc *incident.Incident) error
}

// Delivery is what a notification delivered.
type Delivery struct {
	// Posts are the new posts with an Acknowledge button.
	Posts []PagePost
	// Sent counts every post made, reminders in reply included; 0 means
	// the notification reached nobody.
	Sent int
}

// NoticeKind says what a notification of a page is.
type NoticeKind string

// Kinds of notification.
const (
	NoticePage     NoticeKind = "page"     // the page's first notification
	NoticeEscalate NoticeKind = "escalate" // a new target at the next level
	NoticeRenotify NoticeKind = "renotify" // the current target, again
)

// Notice is one notification of a page.
type Notice struct {
	// Number counts the page's notifications from 1; a number is claimed
	// once, so (page, number) identifies a notification.
	Number int        `json:"number"`
	Kind   NoticeKind `json:"kind"`
	// Level is the level notified, from 1: the target is Targets[Level-1].
	Level int `json:"level"`
}

// Page is the record of one page.
type Page struct {
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	// Hotfix is the hotfix the page calls the release manager for, from 1;
	// 0 for other pages. The page closes when that hotfix ends.
	Hotfix int `json:"hotfix,omitempty"`
	// ChannelID is where the page is posted: the rota channel, or the
	// incident channel when the rota has none.
	ChannelID string `json:"channel_id"`
	// Redacted: ChannelID is shared beyond the incident's private channel,
	// and the page's posts there leave the incident's details out (its
	// direct messages keep them: the paged person is in the channel).
	Redacted bool `json:"redacted,omitempty"`
	// Duty is set on a page outside any incident (IncidentID is then "").
	Duty *Duty `json:"duty,omitempty"`
	// By is who paged: a user, or incident.ActorSystem for the page at
	// the start of an incident.
	By        string    `json:"by"`
	Message   string    `json:"message,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Targets are the people paged, one per level in order; the last is
	// the current target.
	Targets []PageTarget `json:"targets"`
	// The escalation policy of the incident's rota when the page opened
	// (see rota.Escalation): Timeouts override the settings' per
	// severity, the chain runs Repeat more times, then Last are paged one
	// after another.
	Timeouts map[incident.Severity]time.Duration `json:"timeouts,omitempty"`
	Repeat   int                                 `json:"repeat,omitempty"`
	Last     []string                            `json:"last,omitempty"`
	// OutsideOff and OutsideAfter say whether and when each level goes
	// out beyond the chat too (see reach.go), from the same policy.
	OutsideOff   bool          `json:"outside_off,omitempty"`
	OutsideAfter time.Duration `json:"outside_after,omitempty"`
	// Owed are its deliveries beyond the chat still owed, one per level,
	// each due At; they ride on the page's own entry in the due index.
	Owed []ReachOwed `json:"owed,omitempty"`
	// WaitFrom is when the current wait for an acknowledgement began: the
	// page escalates AckTimeout after it.
	WaitFrom time.Time `json:"wait_from"`
	// NotifiedAt is the current target's last notification: the next is
	// due Renotify after it.
	NotifiedAt time.Time `json:"notified_at"`
	// LastFailed is set when the last notification reached nobody; it is
	// then retried after sendRetry.
	LastFailed bool `json:"last_failed,omitempty"`
	// Notices counts the notifications claimed; LevelNotices those at the
	// current level.
	Notices      int `json:"notices"`
	LevelNotices int `json:"level_notices,omitempty"`
	// Due is when the timer next has work on the page; zero when it has
	// none (acknowledged, closed, or nothing left but to wait).
	Due time.Time `json:"due,omitzero"`
	// Sending is the claimed notification being sent, if any.
	Sending *Sending `json:"sending,omitempty"`
	// Posts are the page's posts with an Acknowledge button.
	Posts   []PagePost `json:"posts,omitempty"`
	AckedAt time.Time  `json:"acked_at,omitzero"`
	AckedBy string     `json:"acked_by,omitempty"`
	// Orphans is set when an acknowledgement or a close voided a send in
	// flight: its posts may exist without being in Posts, and are looked
	// for before the page is rendered (see adoptOrphans).
	Orphans bool `json:"orphans,omitempty"`
	// AckPending: the acknowledgement's follow-up (timeline event, posts
	// re-rendered) is still owed; AckLease is held by the worker doing it.
	AckPending bool      `json:"ack_pending,omitempty"`
	AckLease   cas.Lease `json:"ack_lease,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	ClosedWhy  string    `json:"closed_why,omitempty"`
	// CloseOwed: the close's timeline event is still owed (see noteClose).
	CloseOwed bool `json:"close_owed,omitempty"`
	// Revision counts writes of the record; see renderPage.
	Revision int64 `json:"revision"`

	// raw is the record as read, when the page came from PageRecord: a
	// write can start from it instead of reading again.
	raw []byte
}

// PageTarget is one person a page went to.
type PageTarget struct {
	UserID string `json:"user_id"`
	// Role is the role they were paged for; "" for someone paged by name
	// who holds no role on the incident.
	Role incident.Role `json:"role,omitempty"`
	// Pos is Role's position in incident.EscalationChain, -1 outside it,
	// len(incident.EscalationChain) for the policy's last step.
	Pos int       `json:"pos"`
	At  time.Time `json:"at"`
	// Round is the run of the chain the target was paged in, from 0; the
	// last step is round Repeat+1.
	Round int `json:"round,omitempty"`
}

// PagePost is a post of a page that carries an Acknowledge button.
type PagePost struct {
	ID        string `json:"id"`
	ChannelID string `json:"channel_id"`
	// Level is the level whose target the post went to, from 1.
	Level int  `json:"level"`
	DM    bool `json:"dm,omitempty"` // a direct message to the target
}

// Sending is a claimed notification: its lease names the sender (see
// package work for the rule a takeover follows).
type Sending struct {
	Lease  cas.Lease `json:"lease"`
	Notice Notice    `json:"notice"`
	// Since is when the notice was first claimed; a takeover keeps it, so
	// that the new claimant finds the posts an earlier one made.
	Since time.Time `json:"since,omitzero"`
	// Takeover is set when the claim took over from a claimant that did
	// not finish: the notice may have been sent in part.
	Takeover bool `json:"takeover,omitempty"`
}

// Target is the current target.
func (p *Page) Target() PageTarget { return p.Targets[len(p.Targets)-1] }

// Level is the current level, from 1.
func (p *Page) Level() int { return len(p.Targets) }

// Pending reports whether the page still waits for an acknowledgement.
func (p *Page) Pending() bool { return p.AckedAt.IsZero() && p.ClosedAt.IsZero() }

// Paged reports whether the page went to userID at any level.
func (p *Page) Paged(userID string) bool {
	return slices.ContainsFunc(p.Targets, func(t PageTarget) bool { return t.UserID == userID })
}

// HasPost reports whether postID is one of the page's posts.
func (p *Page) HasPost(postID string) bool {
	return postID != "" && slices.ContainsFunc(p.Posts, func(pp PagePost) bool { return pp.ID == postID })
}

// pageDoc names the record of the page with id.
func pageDoc(id string) string { return "page/v1/" + id }

// ValidPageID reports whether id can be a page id: what newPageID makes
// (an incident id, "-", a short id), which also keeps document names valid.
func ValidPageID(id string) bool {
	if len(id) < 3 || len(id) > 80 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// PageRequest is a page asked for by command.
type PageRequest struct {
	Actor string
	// Role pages the incident's holder of the role; otherwise User is
	// paged.
	Role    incident.Role
	User    string
	Message string
}

// Page pages someone on an active incident: the holder of req.Role, or
// req.User. The page escalates from the target's place in the chain (the
// incident manager follows someone outside it). On a severity whose
// AckTimeout is 0 it never escalates, but still re-notifies.
func (a *App) Page(ctx context.Context, inc *incident.Incident, req PageRequest) (*Page, error) {
	if a.pager == nil {
		return nil, errors.New("page: no pager configured")
	}
	msg, err := incident.CleanText("page message", req.Message, MaxPageMessageRunes, false)
	if err != nil {
		return nil, err
	}
	if !inc.Status.Active() {
		return nil, incident.Conflictf("incident %s is resolved; nobody needs paging for it", inc.ShortRef())
	}
	t := PageTarget{UserID: req.User, Role: req.Role, Pos: incident.ChainPos(req.Role)}
	if req.Role != "" {
		if t.UserID = inc.Roles[req.Role]; t.UserID == "" {
			return nil, incident.Conflictf("nobody holds %s on %s: assign it with `/incident role %s @someone`, or page a person with `/incident page @username`",
				req.Role.Title(), inc.ShortRef(), req.Role)
		}
	} else if req.User != "" {
		t.Role, t.Pos = roleForPage(inc, req.User)
		// Someone paged by name is brought into the incident channel (and
		// its team), as role holders are: the page asks them to work
		// there, and their direct message may carry the details.
		if err := a.admit(ctx, inc, req.User); err != nil {
			a.log.Warn().Err(err).Str("incident", inc.ID).Str("user", req.User).Msg("tell that a paged person is outside the team")
		}
	} else {
		return nil, incident.Invalidf("say whom to page: a role (l1, l2, l3, im, rm) or @username")
	}
	return a.openPage(ctx, inc, req.Actor, msg, t, 0, "")
}

// roleForPage returns the role someone paged by name is paged for: their
// first role in the chain, else any role they hold, else none.
func roleForPage(inc *incident.Incident, userID string) (incident.Role, int) {
	roles := inc.RoleOf(userID)
	for _, r := range incident.EscalationChain {
		if slices.Contains(roles, r) {
			return r, incident.ChainPos(r)
		}
	}
	if len(roles) > 0 {
		return roles[0], -1
	}
	return "", -1
}

// pageOnStart pages the first line of a new incident: the first holder
// along the chain (normally L1), unless its severity is not paged. The
// page gets the id pageID, so that a retried follow-up opens it once.
func (a *App) pageOnStart(ctx context.Context, inc *incident.Incident, pageID string) error {
	if a.pager == nil || !inc.Status.Active() {
		return nil
	}
	timeout := a.settings().AckTimeout[inc.Severity]
	if v, err := a.incidentRota(ctx, inc); err == nil {
		if d, ok := v.Rota.Escalation.Timeouts[inc.Severity]; ok {
			timeout = d
		}
	}
	if timeout <= 0 {
		return nil
	}
	for pos, role := range incident.EscalationChain {
		if u := inc.Roles[role]; u != "" {
			if _, err := a.openPage(ctx, inc, incident.ActorSystem, "", PageTarget{UserID: u, Role: role, Pos: pos}, 0, pageID); err != nil {
				return fmt.Errorf("page first line at start: %w", err)
			}
			return nil
		}
	}
	a.log.Warn().Str("incident", inc.ID).Msg("nobody to page at start: every role of the escalation chain is open")
	return nil
}

// pageIDTries bounds retries with a fresh id when a page id is taken.
const pageIDTries = 3

// openPage creates a page claimed for its first notification and sends it;
// hotfixN is the hotfix it calls the release manager for (0: none). id
// names the page; "" picks a new one. A page with that id that exists
// already is returned as it is: an earlier attempt opened it, and its own
// claim sees its first notification through.
func (a *App) openPage(ctx context.Context, inc *incident.Incident, by, msg string, t PageTarget, hotfixN int, id string) (*Page, error) {
	// One read of the rota: its channel and its escalation policy.
	v, err := a.incidentRota(ctx, inc)
	if err != nil {
		a.log.Warn().Err(err).Str("incident", inc.ID).Msg("read the incident's rota; the page goes to the incident channel and follows the settings")
		v = nil
	}
	channel, redacted := a.pageChannel(inc, v)
	p := a.newPage(inc, by, msg, t, hotfixN, channel)
	p.Redacted = redacted
	if v != nil {
		p.follow(v)
	}
	return a.createPage(ctx, inc, p, id)
}

// follow gives p the escalation policy of rota v.
func (p *Page) follow(v *RotaView) {
	pol := v.Rota.Escalation
	p.Timeouts, p.Repeat, p.Last = pol.Timeouts, min(pol.Repeat, rota.MaxRepeat), v.Rota.LastStep()
	p.OutsideOff, p.OutsideAfter = pol.OutsideOff, pol.OutsideAfter
}

// ackTimeout is how long a page of inc waits at a level: the rota's
// policy, else the settings.
func (a *App) ackTimeout(inc *incident.Incident, p *Page) time.Duration {
	if p != nil {
		if d, ok := p.Timeouts[inc.Severity]; ok {
			return d
		}
	}
	return a.settings().AckTimeout[inc.Severity]
}

// openDutyPage opens a page outside any incident, in the channel where it
// was asked for.
func (a *App) openDutyPage(ctx context.Context, inc *incident.Incident, d *Duty, by, msg string, t PageTarget) (*Page, error) {
	p := a.newPage(inc, by, msg, t, 0, inc.ChannelID)
	p.Duty = d
	return a.createPage(ctx, inc, p, "")
}

// pageChannel is where inc's pages are posted (the channel of its rota v,
// else its own; v nil: its own), and whether the incident's details must
// be left out there.
func (a *App) pageChannel(inc *incident.Incident, v *RotaView) (string, bool) {
	channel := inc.ChannelID
	if v != nil && v.Rota.ChannelID != "" {
		channel = v.Rota.ChannelID
	}
	redacted := false
	if view, shown := a.shared(inc); channel != inc.ChannelID {
		if !shown {
			channel = inc.ChannelID // the rota channel is told nothing
		}
		redacted = view.Redacted()
	}
	return channel, redacted
}

// newPage is a page claimed for its first notification.
func (a *App) newPage(inc *incident.Incident, by, msg string, t PageTarget, hotfixN int, channel string) *Page {
	now := a.now()
	t.At = now
	n := Notice{Number: 1, Kind: NoticePage, Level: 1}
	s := &Sending{Notice: n, Since: now}
	s.Lease.Take(cas.NewOwner(), now)
	return &Page{IncidentID: inc.ID, Hotfix: hotfixN, ChannelID: channel, By: by, Message: msg, CreatedAt: now,
		Targets: []PageTarget{t}, WaitFrom: now, NotifiedAt: now, Notices: 1, LevelNotices: 1,
		Due: now.Add(work.LeaseTTL), Sending: s, Revision: 1}
}

// createPage stores p under id ("": a new one) and sends its first
// notification. A page with that id that exists already is returned as it
// is: an earlier attempt opened it, and its own claim sees its first
// notification through.
func (a *App) createPage(ctx context.Context, inc *incident.Incident, p *Page, id string) (*Page, error) {
	t := p.Target()
	for try := 1; ; try++ {
		p.ID = id
		switch {
		case id != "":
		case p.Duty != nil:
			p.ID = "duty-" + a.newID()
		default:
			p.ID = inc.ID + "-" + a.newID()
		}
		// The index entry comes first: should this process die before the
		// page is sent, a tick takes the claim over. An entry without a
		// record is dropped by the tick. The incident's list of pages
		// comes before the page too: resolving closes them all.
		if err := a.work.Schedule(ctx, kindPage, p.ID, p.Due); err != nil {
			return nil, fmt.Errorf("page: schedule: %w", err)
		}
		if p.Duty == nil {
			if err := a.listPage(ctx, inc.ID, p.ID); err != nil {
				return nil, fmt.Errorf("page: list it with its incident: %w", err)
			}
		}
		created, err := createDoc(ctx, a.store, pageDoc(p.ID), p)
		if err != nil {
			return nil, fmt.Errorf("page: store: %w", err)
		}
		if created {
			break
		}
		if id != "" {
			old, ok, err := loadDoc[Page](ctx, a.store, pageDoc(id))
			if err != nil || !ok {
				return nil, fmt.Errorf("page: read page %s: %v", id, err)
			}
			return old, nil
		}
		if try == pageIDTries {
			return nil, fmt.Errorf("page: %d page ids taken in a row", try)
		}
	}
	// The entry written above (at the claim's takeover time) moves on to
	// the page's next due time when the tick reaches it; a page due before
	// then (a short escalation timeout) gets an entry of its own.
	done, err := a.deliver(ctx, p, inc, p.Sending.Lease.Owner)
	if err != nil {
		return nil, fmt.Errorf("page: %w", err) // the claim stands; a tick takes it over
	}
	if done.Pending() && !done.Due.IsZero() && done.Due.Before(p.Due) {
		if err := a.work.Schedule(ctx, kindPage, done.ID, done.Due); err != nil {
			a.log.Warn().Err(err).Str("page", done.ID).Msg("schedule the page's next notification; it follows at its takeover time")
		}
	}
	a.log.Info().Str("page", done.ID).Str("user", t.UserID).Str("role", string(t.Role)).Str("by", p.By).Msg("paged")
	return done, nil
}

// pageEvent is the timeline event of notice n of p, claimed at at.
func pageEvent(p *Page, n Notice, at time.Time) incident.Event {
	t := p.Targets[n.Level-1]
	as := "by name"
	switch {
	case t.Pos >= len(incident.EscalationChain):
		as = "as the policy's last step"
	case t.Role != "":
		as = "as " + t.Role.Title()
	}
	if t.Round > 0 && t.Pos < len(incident.EscalationChain) {
		as += fmt.Sprintf(", run %d of the chain", t.Round+1)
	}
	var ev incident.Event
	switch n.Kind {
	case NoticeEscalate:
		waited := incident.FormatDuration(incident.Elapsed(p.Targets[n.Level-2].At, t.At))
		ev = incident.NewEvent(at, incident.ActorSystem, incident.EventPageEscalated,
			fmt.Sprintf("to <@%s> %s (level %d): <@%s> did not acknowledge within %s", t.UserID, as, n.Level, p.Targets[n.Level-2].UserID, waited))
	case NoticeRenotify:
		ev = incident.NewEvent(at, incident.ActorSystem, incident.EventPageRenotified,
			fmt.Sprintf("<@%s> again (level %d, notice %d)", t.UserID, n.Level, n.Number))
	default:
		text := fmt.Sprintf("<@%s> %s (level 1)", t.UserID, as)
		if p.Message != "" {
			text += ": " + p.Message
		}
		ev = incident.NewEvent(at, p.By, incident.EventPaged, text)
	}
	return withPageData(ev, p, t, n.Level)
}

// withPageData adds the page's data to ev; a release manager's page for a
// hotfix also names the hotfix, so that the postmortem keeps it out of the
// incident's time to acknowledge.
func withPageData(ev incident.Event, p *Page, t PageTarget, level int) incident.Event {
	ev = ev.With(incident.DataPage, p.ID).With(incident.DataTarget, t.UserID).With(incident.DataLevel, strconv.Itoa(level))
	if p.Hotfix != 0 {
		ev = ev.With(incident.DataHotfix, strconv.Itoa(p.Hotfix))
	}
	if t.Role != "" {
		ev = ev.With(incident.DataRole, string(t.Role))
	}
	return ev
}
