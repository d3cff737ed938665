package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Pages beyond the chat. Each person may register how else to reach them:
// their Mattermost email, and a webhook (an SMS or phone gateway their
// organisation runs). When a page notifies someone at a level (its first
// notification, or an escalation to them), the page's rota policy says
// when it also goes out those ways: at once, or after a while without an
// acknowledgement. Each delivery is a work item of its own (kind "reach",
// one per page and level), so a slow or failing gateway never delays the
// chat page or anyone else's; a webhook is retried with backoff. What was
// sent, when, and whether it failed goes on the incident's timeline.
//
// A delivery has no entry of its own in the due index: the page records
// it as owed (Page.Owed), which its own entry covers, so a storm of pages
// adds no index writes. A delivery due at once is woken right after the
// page's notification; one due later is woken by the page's worker.

// kindReach is the work kind of the deliveries beyond the chat.
const kindReach = "reach"

// Reach delivers pages beyond the chat. Optional: without it nobody is
// reached beyond the chat.
type Reach interface {
	// EmailPage sends m to its target's Mattermost email address.
	EmailPage(ctx context.Context, m *ReachMessage) error
	// WebhookPage posts m to url, signed with secret, and returns the
	// HTTP status; an error for a status outside 2xx too.
	WebhookPage(ctx context.Context, m *ReachMessage, url, secret string) (int, error)
	// EmailOff says why the server sends no email ("" when it does).
	EmailOff() string
}

// ReachMessage is one page delivered beyond the chat.
type ReachMessage struct {
	Page     *Page
	Incident *incident.Incident
	Level    int
	Target   PageTarget
	// Token is the page's signed acknowledge link token for Target.
	Token string
	// Delivery identifies the delivery (the same on every retry), so a
	// receiver can drop repeats.
	Delivery string
}

// ReachPrefs is how else to reach a person.
type ReachPrefs struct {
	Email   bool   `json:"email,omitempty"`
	Webhook string `json:"webhook,omitempty"`
	// Secret signs what goes to the webhook (shown to its owner once).
	Secret    string    `json:"secret,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Any reports whether any way beyond the chat is on.
func (r *ReachPrefs) Any() bool { return r != nil && (r.Email || r.Webhook != "") }

func reachPrefsDoc(userID string) string { return "reach/v1/user/" + userID }

// Reach returns userID's ways beyond the chat (zero: none).
func (a *App) ReachOf(ctx context.Context, userID string) (*ReachPrefs, error) {
	p, _, err := loadDoc[ReachPrefs](ctx, a.store, reachPrefsDoc(userID))
	return p, err
}

// SetReachEmail turns pages by email on or off for actor.
func (a *App) SetReachEmail(ctx context.Context, actor string, on bool) error {
	if on && a.reach != nil {
		if why := a.reach.EmailOff(); why != "" {
			return incident.Invalidf("this server sends no email (%s); ask a system admin to set up SMTP in System Console > Environment > SMTP and turn on email notifications", why)
		}
	}
	_, _, err := updateDoc(ctx, a.store, reachPrefsDoc(actor), func(p *ReachPrefs, _ bool) error {
		p.Email, p.UpdatedAt = on, a.now().UTC()
		return nil
	})
	return err
}

// MaxWebhookURL bounds a webhook URL's length.
const MaxWebhookURL = 2048

// SetReachWebhook sets actor's page webhook ("": none) and returns the
// secret that signs its bodies (new with every new URL).
func (a *App) SetReachWebhook(ctx context.Context, actor, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > MaxWebhookURL || u.User != nil {
			return "", incident.Invalidf("give the gateway's http(s) URL, such as https://sms.example.com/page (no user:password in it)")
		}
		if err := a.settings().WebhookHosts.Check(u.Hostname()); err != nil {
			return "", err
		}
	}
	secret := ""
	if raw != "" {
		var b [24]byte
		_, _ = rand.Read(b[:])
		secret = hex.EncodeToString(b[:])
	}
	_, _, err := updateDoc(ctx, a.store, reachPrefsDoc(actor), func(p *ReachPrefs, _ bool) error {
		p.Webhook, p.Secret, p.UpdatedAt = raw, secret, a.now().UTC()
		return nil
	})
	return secret, err
}

// reachKey is the work key of page id's delivery beyond the chat at level.
func reachKey(pageID string, level int) string { return pageID + "/" + strconv.Itoa(level) }

func parseReachKey(key string) (string, int, bool) {
	id, l, ok := strings.Cut(key, "/")
	n, err := strconv.Atoi(l)
	return id, n, ok && err == nil && n >= 1 && ValidPageID(id)
}

// ReachOwed is a page level's delivery beyond the chat, owed from At.
type ReachOwed struct {
	Level int       `json:"level"`
	At    time.Time `json:"at"`
}

// reachGrace is how long a delivery that was woken may take before the
// page's entry wakes it again (its process may have died).
const reachGrace = 2 * time.Minute

// reaches reports whether p's notification at level is owed beyond the
// chat too: its policy sends one and its target registered a way. One
// read of the target's preferences.
func (a *App) reaches(ctx context.Context, p *Page, level int) bool {
	if a.reach == nil || p.OutsideOff || level < 1 || level > len(p.Targets) {
		return false
	}
	prefs, err := a.ReachOf(ctx, p.Targets[level-1].UserID)
	if err != nil {
		a.log.Warn().Err(err).Str("page", p.ID).Msg("read how else to reach the paged person; the page stays in the chat")
		return false
	}
	return prefs.Any()
}

// owe records level's delivery beyond the chat as owed, OutsideAfter
// after the level's notification; it reports whether it is due now (the
// caller wakes it: the page's entry is only its safety net then).
func (p *Page) owe(level int, now time.Time) bool {
	for _, o := range p.Owed {
		if o.Level == level {
			return false
		}
	}
	at := p.Targets[level-1].At.Add(p.OutsideAfter)
	wake := !at.After(now)
	if wake {
		at = now.Add(reachGrace)
	}
	p.Owed = append(p.Owed, ReachOwed{Level: level, At: at})
	return wake
}

// owedDue returns the levels whose delivery is due at now, and moves each
// on by reachGrace: they are woken now.
func (p *Page) owedDue(now time.Time) []int {
	var out []int
	for i := range p.Owed {
		if !p.Owed[i].At.After(now) {
			out = append(out, p.Owed[i].Level)
			p.Owed[i].At = now.Add(reachGrace)
		}
	}
	return out
}

// reachState is what went out beyond the chat for one page and level
// (reach/v1/page/<page>/<level>).
type reachState struct {
	Email   reachTry `json:"email,omitzero"`
	Webhook reachTry `json:"webhook,omitzero"`
	// Used lists the nonces of acknowledge links that were used.
	Used []string `json:"used,omitempty"`
}

// reachTry is one way's deliveries.
type reachTry struct {
	Tries  int       `json:"tries,omitempty"`
	SentAt time.Time `json:"sent_at,omitzero"`
	Failed string    `json:"failed,omitempty"` // the last failure
	Gave   bool      `json:"gave_up,omitempty"`
	Next   time.Time `json:"next,omitzero"`
}

func (t reachTry) done() bool { return !t.SentAt.IsZero() || t.Gave }

func reachStateDoc(pageID string, level int) string {
	return "reach/v1/page/" + pageID + "/" + strconv.Itoa(level)
}

// webhookBackoff is the wait before each retry of a failed webhook; its
// length bounds the tries.
var webhookBackoff = []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second, 2 * time.Minute, 5 * time.Minute}

// runReach is the worker of kind "reach": it sends the page's level
// beyond the chat, the ways its target registered, unless the page was
// answered or closed meanwhile. A page that escalated past the level
// still reaches its person: they can still acknowledge it.
func (a *App) runReach(ctx context.Context, job work.Job) (work.Outcome, error) {
	id, level, ok := parseReachKey(job.Key)
	if !ok || a.reach == nil {
		return work.Outcome{}, nil
	}
	p, found, err := loadDoc[Page](ctx, a.store, pageDoc(id))
	if err != nil || !found {
		return work.Outcome{}, err
	}
	if !p.Pending() || level > p.Level() {
		return work.Outcome{}, a.settleOwed(ctx, id, level, time.Time{}) // answered or closed: nothing to add
	}
	inc, err := a.pageIncident(ctx, p)
	if err != nil {
		return work.Outcome{}, err
	}
	t := p.Targets[level-1]
	prefs, err := a.ReachOf(ctx, t.UserID)
	if err != nil {
		return work.Outcome{}, err
	}
	if !prefs.Any() {
		return work.Outcome{}, a.settleOwed(ctx, id, level, time.Time{})
	}
	doc := reachStateDoc(id, level)
	st, _, err := loadDoc[reachState](ctx, a.store, doc)
	if err != nil {
		return work.Outcome{}, err
	}
	token, err := a.ackToken(ctx, id, t.UserID, level)
	if err != nil {
		return work.Outcome{}, err
	}
	m := &ReachMessage{Page: p, Incident: inc, Level: level, Target: t, Token: token}
	now := a.now()
	var next time.Time
	if prefs.Email && !st.Email.done() {
		m.Delivery = reachKey(id, level) + "/email"
		err := a.reach.EmailPage(ctx, m)
		st.Email = a.tried(ctx, doc, p, level, "email", err, 0, nil)
	}
	if prefs.Webhook != "" && !st.Webhook.done() && !st.Webhook.Next.After(now) {
		m.Delivery = reachKey(id, level) + "/webhook"
		status, err := a.reach.WebhookPage(ctx, m, prefs.Webhook, prefs.Secret)
		st.Webhook = a.tried(ctx, doc, p, level, "webhook", err, status, webhookBackoff)
	}
	if !st.Webhook.done() && !st.Webhook.Next.IsZero() && prefs.Webhook != "" {
		next = st.Webhook.Next
	}
	return work.Outcome{}, a.settleOwed(ctx, id, level, next)
}

// settleOwed clears level's owed delivery on page id, or moves it to
// next (a retry), making sure the page's entry comes back by then.
func (a *App) settleOwed(ctx context.Context, id string, level int, next time.Time) error {
	p, _, err := updateDoc(ctx, a.store, pageDoc(id), func(q *Page, exists bool) error {
		i := slices.IndexFunc(q.Owed, func(o ReachOwed) bool { return o.Level == level })
		if !exists || i < 0 {
			return errUnchanged
		}
		if next.IsZero() {
			q.Owed = slices.Delete(q.Owed, i, i+1)
		} else {
			q.Owed[i].At = next
			if q.Pending() && q.Sending == nil && (q.Due.IsZero() || next.Before(q.Due)) {
				q.Due = next
			}
		}
		q.Revision++
		return nil
	})
	if err != nil || next.IsZero() || p == nil || !p.Pending() {
		return err
	}
	return a.work.Schedule(ctx, kindPage, id, next)
}

// tried records a delivery's outcome on its state document and, for an
// incident's page, on the timeline. A failure is retried after the next
// wait of backoff; with no waits left (or none given) it gives up.
func (a *App) tried(ctx context.Context, doc string, p *Page, level int, way string, sendErr error, status int, backoff []time.Duration) reachTry {
	now, t := a.now(), p.Targets[level-1]
	var out reachTry
	_, _, err := updateDoc(ctx, a.store, doc, func(st *reachState, _ bool) error {
		cur := &st.Email
		if way == "webhook" {
			cur = &st.Webhook
		}
		cur.Tries++
		cur.Next = time.Time{}
		switch {
		case sendErr == nil:
			cur.SentAt, cur.Failed = now.UTC(), ""
		case cur.Tries <= len(backoff):
			cur.Failed, cur.Next = clipText(sendErr.Error(), 300), now.Add(backoff[cur.Tries-1])
		default:
			cur.Failed, cur.Gave = clipText(sendErr.Error(), 300), true
		}
		out = *cur
		return nil
	})
	if err != nil {
		a.log.Warn().Err(err).Str("page", p.ID).Str("way", way).Msg("record a delivery beyond the chat")
	}
	var text string
	switch {
	case sendErr == nil && way == "email":
		text = fmt.Sprintf("page to %s (level %d) sent by email", rota.UserRef(t.UserID), level)
	case sendErr == nil:
		text = fmt.Sprintf("page to %s (level %d) sent to their webhook (HTTP %d)", rota.UserRef(t.UserID), level, status)
	case !out.Next.IsZero():
		text = fmt.Sprintf("page to %s by %s failed (try %d): %s; trying again in %s", rota.UserRef(t.UserID), way, out.Tries, out.Failed, incident.FormatDuration(out.Next.Sub(now)))
	default:
		text = fmt.Sprintf("page to %s by %s failed (try %d), given up: %s", rota.UserRef(t.UserID), way, out.Tries, out.Failed)
	}
	a.log.Info().Str("page", p.ID).Str("way", way).Err(sendErr).Int("try", out.Tries).Msg("page beyond the chat")
	if p.Duty == nil {
		ev := incident.NewEvent(now, incident.ActorSystem, incident.EventPageOutside, text).With(incident.DataPage, p.ID).With(incident.DataWay, way)
		if _, err := a.record(ctx, p.IncidentID, ev); err != nil {
			a.log.Warn().Err(err).Str("page", p.ID).Msg("note a delivery beyond the chat on the timeline")
		}
	}
	return out
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
