package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// The weekly rota handoff announcement.
//
// At each handoff the bot posts the coming week's staffing in the rota
// channel and asks the incoming people to acknowledge it. The work kind
// "handoff" runs at each handoff instant (and whenever the rota changes),
// and the rule is:
//
//   - S is the start of the rota week containing now.
//   - The state document remembers the last week start the handoff logic
//     has dealt with. With no state yet it is set to S without announcing:
//     installing the plugin or creating a rota must not announce the week in
//     progress.
//   - Week S is announced iff S is after the state's week and now−S is at
//     most handoffLateness. Either way the state moves to S, so a plugin that
//     was down for days, or a handoff spec changed to one whose week began
//     long ago, posts no stale announcement.
//
// Exactly once across a cluster: the week's record (handoff/v1/<unix
// seconds of S>) is created only if absent, with its lease taken by its
// creator, who posts; a run that finds the record without a post watches
// its lease and takes it over only once it stood still (the one lease
// rule of package work), up to handoffAttempts posts, while the handoff is
// within handoffLateness. A claimant that stalled past a takeover and
// finds the post recorded by its taker deletes its own copy.
const (
	// handoffLateness is how late after its instant a handoff may still be
	// announced.
	handoffLateness = time.Hour
	// handoffAttempts bounds the posts tried for one handoff (the first and
	// the takeovers), so that a channel the bot cannot post in does not
	// cause a failed attempt every minute for an hour.
	handoffAttempts = 3
	// handoffRenders bounds the re-renders of a handoff post after an
	// acknowledgement; see AcknowledgeHandoff.
	handoffRenders = 5
)

// kindHandoff is the work kind of the rota handoffs: key handoffKey for
// the first rota, handoffKey/<name> for the others.
const (
	kindHandoff = "handoff"
	handoffKey  = "rota"
)

// handoffWorkKey is the work key of rota e's handoffs.
func handoffWorkKey(e rotaEntry) string {
	if e.Doc == rotaDoc {
		return handoffKey
	}
	return handoffKey + "/" + e.Name
}

// handoffStateOf names the handoff state document of rota e (the first
// rota keeps the one every earlier version used).
func handoffStateOf(e rotaEntry) string {
	if e.Doc == rotaDoc {
		return handoffStateDoc
	}
	return "handoff/v2/" + e.Name + "/state"
}

// handoffKeyOf is the key of rota e's handoff at the start of week: the
// first rota's is HandoffKey(week), another's is prefixed with its name.
func handoffKeyOf(e rotaEntry, week time.Time) string {
	if e.Doc == rotaDoc {
		return HandoffKey(week)
	}
	return e.Name + "-" + HandoffKey(week)
}

// Handoffs posts rota handoff announcements as the bot.
type Handoffs interface {
	// PostHandoff posts h in h.ChannelID: the week's staffing with a
	// mention of each holder and an Acknowledge button. It returns the post
	// id.
	PostHandoff(ctx context.Context, h *Handoff) (postID string, err error)
	// UpdateHandoff re-renders h's post (h.PostID) to show its
	// acknowledgements.
	UpdateHandoff(ctx context.Context, h *Handoff) error
}

// handoffStateDoc names the handoff state document.
const handoffStateDoc = "handoff/v1/state"

// handoffDoc names the record of the handoff with key.
func handoffDoc(key string) string { return "handoff/v1/" + key }

// HandoffKey is the key of the handoff at the start of week: its Unix
// seconds in decimal. It names the record and is carried by the post's
// button.
func HandoffKey(week time.Time) string { return strconv.FormatInt(week.Unix(), 10) }

// handoffState is the last rota week the handoff logic dealt with.
type handoffState struct {
	// Week is the start of that week.
	Week time.Time `json:"week"`
	// Announce is whether its handoff is to be announced (false: first
	// run, too late, no rota channel or nobody on duty).
	Announce bool `json:"announce"`
}

// Handoff is one rota handoff announcement: who is on duty in the rota
// week that starts at Week, where it is posted, and who has acknowledged.
type Handoff struct {
	Key  string    `json:"key"` // HandoffKey(Week), for rotas but the first prefixed with the rota's name and "-"
	Rota string    `json:"rota,omitempty"`
	Week time.Time `json:"week"`
	// End is the start of the next week; zero if the schedule has none.
	End time.Time `json:"end,omitzero"`
	// Zone is the rota's time zone (an IANA name), for showing times.
	Zone      string `json:"zone"`
	ChannelID string `json:"channel_id"`
	// Holders, Substitutions and Open are the week's staffing at Week under
	// the policy in force when the handoff was claimed.
	Holders       map[incident.Role]string `json:"holders"`
	Substitutions []rota.Substitution      `json:"substitutions,omitempty"`
	Open          []incident.Role          `json:"open,omitempty"`
	// Lease is held by whoever posts it; Attempts counts the posts tried
	// (the first and the takeovers).
	Lease    cas.Lease `json:"lease,omitzero"`
	Attempts int       `json:"attempts"`
	// PostID is the announcement post, once it is recorded.
	PostID   string    `json:"post_id,omitempty"`
	PostedAt time.Time `json:"posted_at,omitzero"`
	// Acks maps each holder who acknowledged to when they did.
	Acks map[string]time.Time `json:"acks,omitempty"`
	// Revision counts writes of the record; see AcknowledgeHandoff.
	Revision int64 `json:"revision"`
}

// Location returns the rota's time zone for showing the handoff's times,
// or UTC if the zone cannot be loaded.
func (h *Handoff) Location() *time.Location {
	if loc, err := time.LoadLocation(h.Zone); err == nil && h.Zone != "" {
		return loc
	}
	return time.UTC
}

// People returns the holders, each once, in role order (incident.Roles).
func (h *Handoff) People() []string {
	var out []string
	for _, role := range incident.Roles {
		if u := h.Holders[role]; u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// RolesOf returns the roles userID holds in the handoff, in role order.
func (h *Handoff) RolesOf(userID string) []incident.Role {
	var out []incident.Role
	for _, role := range incident.Roles {
		if userID != "" && h.Holders[role] == userID {
			out = append(out, role)
		}
	}
	return out
}

// AllAcknowledged reports whether every holder has acknowledged.
func (h *Handoff) AllAcknowledged() bool {
	for _, u := range h.People() {
		if _, ok := h.Acks[u]; !ok {
			return false
		}
	}
	return true
}

// tickStep runs one step of Tick, turning an error or a panic into a log
// line.
func (a *App) tickStep(ctx context.Context, what string, step func(context.Context) error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error().Str("step", what).Interface("panic", r).Msg("tick step panicked")
		}
	}()
	if err := step(ctx); err != nil {
		a.log.Error().Err(err).Str("step", what).Msg("tick step failed")
	}
}

// runHandoff is the worker of kind "handoff": it announces the handoff of
// the rota week in progress, once, if it is due (see the rule above), and
// reports the next handoff instant, or watches a claimant at work. Then it
// tells the people on duty the week after, if the rota says so.
func (a *App) runHandoff(ctx context.Context, job work.Job) (work.Outcome, error) {
	out, err := a.announceHandoff(ctx, job)
	if err != nil || out.Busy {
		return out, err
	}
	name, _ := strings.CutPrefix(strings.TrimPrefix(job.Key, handoffKey), "/")
	if err := a.noticeDuty(ctx, name); err != nil {
		return work.Outcome{}, err // retried, and what was told is not told again
	}
	return out, nil
}

// announceHandoff is runHandoff's announcement.
func (a *App) announceHandoff(ctx context.Context, job work.Job) (work.Outcome, error) {
	if a.handoffs == nil {
		return work.Outcome{}, nil
	}
	now := a.now()
	name, _ := strings.CutPrefix(strings.TrimPrefix(job.Key, handoffKey), "/")
	e, err := a.rotaEntry(ctx, name)
	if incident.KindOf(err) == incident.KindNotFound {
		return work.Outcome{}, nil // a rota that is gone hands nothing off
	}
	if err != nil {
		return work.Outcome{}, fmt.Errorf("announce handoff: %w", err)
	}
	v, err := a.RotaOf(ctx, e.Name)
	if err != nil {
		return work.Outcome{}, fmt.Errorf("announce handoff: read rota: %w", err)
	}
	if v.Rota.Anchor.IsZero() || v.Schedule == nil {
		return work.Outcome{}, nil // no weeks: nothing hands off (a rota edit schedules this again)
	}
	next := v.Schedule.Next(now)
	_, start, end := rota.WeekOf(v.Schedule, v.Rota.Anchor, now)
	if start.IsZero() || start.After(now) {
		return work.Outcome{Next: next}, nil
	}
	staffing := v.Rota.Assign(v.Schedule, start, a.settings().Policy)
	due := v.Rota.ChannelID != "" && len(staffing.Holders) > 0 && now.Sub(start) <= handoffLateness

	var first bool
	st, moved, err := updateDoc(ctx, a.store, handoffStateOf(e), func(s *handoffState, exists bool) error {
		if exists && !start.After(s.Week) {
			return errUnchanged
		}
		first = !exists
		*s = handoffState{Week: start, Announce: due && exists}
		return nil
	})
	if err != nil {
		return work.Outcome{}, fmt.Errorf("announce handoff: move to week %s: %w", start.Format(time.RFC3339), err)
	}
	if moved && !st.Announce {
		a.log.Info().Str("rota", e.Name).Time("week", start).Bool("first", first).Bool("late", now.Sub(start) > handoffLateness).
			Bool("channel", v.Rota.ChannelID != "").Int("holders", len(staffing.Holders)).
			Msg("rota handoff not announced")
	}
	if !st.Week.Equal(start) || !st.Announce || now.Sub(start) > handoffLateness {
		return work.Outcome{Next: next}, nil
	}
	zone := "UTC"
	if v.Location != nil {
		zone = v.Location.String()
	}
	fresh := &Handoff{
		Key: handoffKeyOf(e, start), Rota: e.Name, Week: start, End: end, Zone: zone, ChannelID: v.Rota.ChannelID,
		Holders: staffing.Holders, Substitutions: staffing.Substitutions, Open: staffing.Open,
	}
	busy, err := a.deliverHandoff(ctx, fresh, job.Owner, now)
	if err != nil {
		return work.Outcome{}, err
	}
	if busy {
		return work.Outcome{Busy: true}, nil
	}
	return work.Outcome{Next: next}, nil
}

// deliverHandoff posts the handoff unless it is posted, given up, or
// being posted by someone whose lease has not stood still (busy).
func (a *App) deliverHandoff(ctx context.Context, fresh *Handoff, owner string, now time.Time) (busy bool, err error) {
	name := handoffDoc(fresh.Key)
	cur, exists, err := loadDoc[Handoff](ctx, a.store, name)
	if err != nil {
		return false, fmt.Errorf("announce handoff %s: %w", fresh.Key, err)
	}
	switch {
	case exists && cur.PostID != "":
		return false, nil // announced
	case exists && cur.Attempts >= handoffAttempts:
		return false, nil // given up
	case exists && cur.Lease.Held() && !a.work.Watch().MayTake(name, cur.Lease):
		return true, nil // its poster is at work
	}
	// Create the record, or take over one whose poster died or failed.
	seen := Handoff{}
	if exists {
		seen = *cur
	}
	var takeover bool
	h, won, err := updateDoc(ctx, a.store, name, func(h *Handoff, exists bool) error {
		if !exists {
			*h = *fresh
		} else if h.PostID != "" || h.Attempts >= handoffAttempts || h.Lease != seen.Lease {
			return errUnchanged
		}
		takeover = exists
		h.Lease.Take(owner, now)
		h.Attempts++
		h.Revision++
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("announce handoff %s: claim record: %w", fresh.Key, err)
	}
	if !won {
		return h.PostID == "" && h.Lease.Held(), nil
	}
	a.work.Watch().Forget(name)
	if takeover {
		a.log.Warn().Str("handoff", h.Key).Int("attempt", h.Attempts).Msg("taking over a rota handoff that its poster did not post")
	}
	hctx, stop := work.Hold(ctx, a.work.Clock(), func(ctx context.Context) (bool, error) {
		_, _, err := updateDoc(ctx, a.store, name, func(h *Handoff, _ bool) error {
			if !h.Lease.HeldBy(owner) {
				return errLeaseLost
			}
			h.Lease.Renew(a.now())
			return nil
		})
		if errors.Is(err, errLeaseLost) {
			return false, nil
		}
		return err == nil, err
	})
	defer stop()
	postID, err := a.handoffs.PostHandoff(hctx, h)
	if err != nil {
		// Let the next run try again (it comes after a backoff).
		if _, _, rerr := updateDoc(context.WithoutCancel(ctx), a.store, name, func(h *Handoff, _ bool) error {
			if !h.Lease.HeldBy(owner) {
				return errUnchanged
			}
			h.Lease.Release()
			return nil
		}); rerr != nil {
			a.log.Warn().Err(rerr).Str("handoff", h.Key).Msg("release a rota handoff after a failed post")
		}
		next := "retried"
		if h.Attempts >= handoffAttempts {
			next = "giving up"
		}
		return false, fmt.Errorf("announce handoff %s: post, attempt %d of %d, %s: %w", h.Key, h.Attempts, handoffAttempts, next, err)
	}
	var dup string
	_, _, err = updateDoc(context.WithoutCancel(ctx), a.store, name, func(h *Handoff, _ bool) error {
		if h.PostID != "" && h.PostID != postID {
			dup = h.PostID
			return errUnchanged
		}
		h.PostID, h.PostedAt = postID, now
		if h.Lease.HeldBy(owner) {
			h.Lease.Release()
		}
		h.Revision++
		return nil
	})
	if err != nil {
		// The post is out but not recorded: a takeover may post it again.
		return false, fmt.Errorf("announce handoff %s: record post %s: %w", h.Key, postID, err)
	}
	if dup != "" {
		// Our lease stood still long enough to be taken over (a paused
		// database), and the taker posted and recorded first: remove our
		// copy so people see one.
		a.log.Warn().Str("handoff", h.Key).Str("kept", dup).Str("deleted", postID).Msg("rota handoff posted twice; deleting the later post")
		if err := a.chat.DeletePost(ctx, postID); err != nil {
			return false, fmt.Errorf("announce handoff %s: delete duplicate post %s: %w", h.Key, postID, err)
		}
		return false, nil
	}
	a.log.Info().Str("handoff", h.Key).Str("post", postID).Int("holders", len(h.People())).Msg("rota handoff announced")
	return false, nil
}

// ErrAlreadyAcknowledged is returned, with the handoff, by
// AcknowledgeHandoff when the actor had acknowledged it before; nothing
// changed.
var ErrAlreadyAcknowledged = &incident.Error{Kind: incident.KindConflict, Msg: "you have already acknowledged this handoff"}

// Handoff returns the handoff record with key (see HandoffKey).
// KindNotFound if there is none.
func (a *App) Handoff(ctx context.Context, key string) (*Handoff, error) {
	if !validHandoffKey(key) {
		return nil, incident.Invalidf("%q is not a rota handoff", key)
	}
	h, ok, err := loadDoc[Handoff](ctx, a.store, handoffDoc(key))
	if err != nil {
		return nil, fmt.Errorf("read handoff %s: %w", key, err)
	}
	if !ok {
		return nil, incident.NotFoundf("that rota handoff no longer exists")
	}
	return h, nil
}

// validHandoffKey accepts what handoffKeyOf makes for instants after
// 1970: decimal digits, after a rota's name and "-" for rotas but the
// first, which also keeps the document name valid.
func validHandoffKey(key string) bool {
	if i := strings.LastIndexByte(key, '-'); i >= 0 {
		if !routing.ValidRotaName(key[:i]) {
			return false
		}
		key = key[i+1:]
	}
	if key == "" || len(key) > 19 {
		return false
	}
	for _, c := range key {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// AcknowledgeHandoff records that actor has seen the handoff with key and
// takes their duty. Only a holder of one of its roles may acknowledge
// (KindForbidden otherwise). A second acknowledgement changes nothing and
// returns the handoff with ErrAlreadyAcknowledged. The post is then
// re-rendered; a failure to do so is logged, not returned, since the
// acknowledgement itself is stored.
func (a *App) AcknowledgeHandoff(ctx context.Context, actor, key string) (*Handoff, error) {
	h, err := a.Handoff(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(h.RolesOf(actor)) == 0 {
		return nil, incident.Forbiddenf("only the people this handoff puts on duty can acknowledge it, and you hold no role that week")
	}
	now := a.now()
	h, wrote, err := updateDoc(ctx, a.store, handoffDoc(key), func(h *Handoff, exists bool) error {
		if !exists {
			return incident.NotFoundf("that rota handoff no longer exists")
		}
		if _, ok := h.Acks[actor]; ok {
			return errUnchanged
		}
		if h.Acks == nil {
			h.Acks = make(map[string]time.Time)
		}
		h.Acks[actor] = now
		h.Revision++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acknowledge handoff %s: %w", key, err)
	}
	// Re-render even when nothing changed: it repairs a post whose update
	// failed after an earlier acknowledgement.
	h = a.renderHandoff(ctx, h)
	if !wrote {
		return h, ErrAlreadyAcknowledged
	}
	a.log.Info().Str("handoff", key).Str("user", actor).Msg("rota handoff acknowledged")
	return h, nil
}

// renderHandoff updates the handoff's post to show h, and again while the
// record has moved on meanwhile. Two holders acknowledging at once could
// otherwise leave the post showing the older state: whichever update lands
// last re-reads the record after it and renders anything newer. It returns
// the last state rendered.
func (a *App) renderHandoff(ctx context.Context, h *Handoff) *Handoff {
	for range handoffRenders {
		if h.PostID == "" || a.handoffs == nil {
			return h
		}
		if err := a.handoffs.UpdateHandoff(ctx, h); err != nil {
			a.log.Warn().Err(err).Str("handoff", h.Key).Msg("update rota handoff post")
			return h
		}
		latest, err := a.Handoff(ctx, h.Key)
		if err != nil || latest.Revision == h.Revision {
			return h
		}
		h = latest
	}
	return h
}
