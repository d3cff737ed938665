package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// The weekly rota handoff announcement.
//
// At each handoff the bot posts the coming week's staffing in the rota
// channel and asks the incoming people to acknowledge it. The rule, checked
// on every Tick:
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
// Exactly once across a cluster: moving the state from its old week to S is
// a compare-and-set, and only the caller whose write lands (the claimant)
// creates the week's record (handoff/v1/<unix seconds of S>) and posts.
// Every other tick, on any node, sees the state at S and does nothing while
// the claim is fresh.
//
// A crash between the claim and the post would lose the announcement, so a
// claim that has not produced a post after handoffTakeover may be taken over
// by a later tick (again by compare-and-set: one taker wins) while the
// handoff is within handoffLateness. That makes delivery at-least-once in
// one case only: an instance that created the post but crashed (or lost its
// claim by stalling past handoffTakeover) before recording the post id; a
// stalled claimant that finds the post already recorded deletes its own.
const (
	// handoffLateness is how late after its instant a handoff may still be
	// announced.
	handoffLateness = time.Hour
	// handoffTakeover is how long a claim may go without a recorded post
	// before another tick assumes the claimant died and takes over. It is
	// far longer than a post takes, so a live claimant is never overtaken.
	handoffTakeover = time.Minute
	// handoffAttempts bounds the posts tried for one handoff (the first and
	// the takeovers), so that a channel the bot cannot post in does not
	// cause a failed attempt every minute for an hour.
	handoffAttempts = 3
	// handoffRenders bounds the re-renders of a handoff post after an
	// acknowledgement; see AcknowledgeHandoff.
	handoffRenders = 5
)

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
	// ClaimedAt is when the state moved to Week: the claim's age, for
	// taking over from a claimant that died before creating the record.
	ClaimedAt time.Time `json:"claimed_at"`
}

// Handoff is one rota handoff announcement: who is on duty in the rota
// week that starts at Week, where it is posted, and who has acknowledged.
type Handoff struct {
	Key  string    `json:"key"` // HandoffKey(Week)
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
	// ClaimedAt is when the current claimant took the handoff; Attempts
	// counts the claims (first post and takeovers).
	ClaimedAt time.Time `json:"claimed_at"`
	Attempts  int       `json:"attempts"`
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

// announceHandoff announces the handoff of the rota week containing now,
// once, if it is due (see the rule above).
func (a *App) announceHandoff(ctx context.Context, now time.Time) error {
	if a.handoffs == nil {
		return nil
	}
	v, err := a.Rota(ctx)
	if err != nil {
		return fmt.Errorf("announce handoff: read rota: %w", err)
	}
	if v.Rota.Anchor.IsZero() {
		return nil // no weeks: nothing hands off
	}
	_, start, end := rota.WeekOf(v.Schedule, v.Rota.Anchor, now)
	if start.IsZero() || start.After(now) {
		return nil
	}
	staffing := v.Rota.Assign(v.Schedule, start, a.settings().Policy)
	due := v.Rota.ChannelID != "" && len(staffing.Holders) > 0 && now.Sub(start) <= handoffLateness

	var first bool
	st, claimed, err := updateDoc(ctx, a.store, handoffStateDoc, func(s *handoffState, exists bool) error {
		if exists && !start.After(s.Week) {
			return errUnchanged
		}
		first = !exists
		*s = handoffState{Week: start, Announce: due && exists, ClaimedAt: now}
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce handoff: claim week %s: %w", start.Format(time.RFC3339), err)
	}
	if claimed && !st.Announce {
		a.log.Info().Time("week", start).Bool("first", first).Bool("late", now.Sub(start) > handoffLateness).
			Bool("channel", v.Rota.ChannelID != "").Int("holders", len(staffing.Holders)).
			Msg("rota handoff not announced")
	}
	if !st.Week.Equal(start) || !st.Announce || now.Sub(start) > handoffLateness {
		return nil
	}
	zone := "UTC"
	if v.Location != nil {
		zone = v.Location.String()
	}
	fresh := &Handoff{
		Key: HandoffKey(start), Week: start, End: end, Zone: zone, ChannelID: v.Rota.ChannelID,
		Holders: staffing.Holders, Substitutions: staffing.Substitutions, Open: staffing.Open,
	}
	return a.deliverHandoff(ctx, fresh, st, claimed, now)
}

// deliverHandoff posts the handoff if this caller holds the claim: it
// either just moved the state (claimed) or takes over a claim that is
// older than handoffTakeover and has no recorded post.
func (a *App) deliverHandoff(ctx context.Context, fresh *Handoff, st *handoffState, claimed bool, now time.Time) error {
	name := handoffDoc(fresh.Key)
	cur, exists, err := loadDoc[Handoff](ctx, a.store, name)
	if err != nil {
		return fmt.Errorf("announce handoff %s: %w", fresh.Key, err)
	}
	switch {
	case exists && cur.PostID != "":
		return nil // announced
	case exists && (now.Sub(cur.ClaimedAt) < handoffTakeover || cur.Attempts >= handoffAttempts):
		return nil // a live claimant is at work, or we gave up
	case !exists && !claimed && now.Sub(st.ClaimedAt) < handoffTakeover:
		return nil // the claimant is about to create the record
	}

	// Claim the record: create it, or take over a stale claim. The check
	// is repeated on the fresh copy so that of several takers one wins.
	var takeover bool
	h, won, err := updateDoc(ctx, a.store, name, func(h *Handoff, exists bool) error {
		if !exists {
			*h = *fresh
		} else if h.PostID != "" || now.Sub(h.ClaimedAt) < handoffTakeover || h.Attempts >= handoffAttempts {
			return errUnchanged
		}
		takeover = exists || !claimed
		h.ClaimedAt = now
		h.Attempts++
		h.Revision++
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce handoff %s: claim record: %w", fresh.Key, err)
	}
	if !won {
		return nil
	}
	if takeover {
		a.log.Warn().Str("handoff", h.Key).Int("attempt", h.Attempts).Msg("taking over a rota handoff whose claimant did not post it")
	}

	postID, err := a.handoffs.PostHandoff(ctx, h)
	if err != nil {
		next := fmt.Sprintf("a tick retries after %s", handoffTakeover)
		if h.Attempts >= handoffAttempts {
			next = "giving up"
		}
		return fmt.Errorf("announce handoff %s: post, attempt %d of %d, %s: %w", h.Key, h.Attempts, handoffAttempts, next, err)
	}
	var dup string
	_, _, err = updateDoc(ctx, a.store, name, func(h *Handoff, _ bool) error {
		if h.PostID != "" && h.PostID != postID {
			dup = h.PostID
			return errUnchanged
		}
		h.PostID, h.PostedAt = postID, now
		h.Revision++
		return nil
	})
	if err != nil {
		// The post is out but not recorded: a takeover may post it again.
		return fmt.Errorf("announce handoff %s: record post %s: %w", h.Key, postID, err)
	}
	if dup != "" {
		// Our claim stalled past handoffTakeover and another instance posted
		// and recorded it first: remove our copy so people see one.
		a.log.Warn().Str("handoff", h.Key).Str("kept", dup).Str("deleted", postID).Msg("rota handoff posted twice; deleting the later post")
		if err := a.chat.DeletePost(ctx, postID); err != nil {
			return fmt.Errorf("announce handoff %s: delete duplicate post %s: %w", h.Key, postID, err)
		}
		return nil
	}
	a.log.Info().Str("handoff", h.Key).Str("post", postID).Int("holders", len(h.People())).Msg("rota handoff announced")
	return nil
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

// validHandoffKey accepts what HandoffKey makes for instants after 1970:
// decimal digits, which also keeps the document name valid.
func validHandoffKey(key string) bool {
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
