package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// On-duty handles. "@release-manager" in a post is answered in its thread
// with whoever is on duty for the role now (substitutions and away periods
// applied), "@delivery-rota" with everyone on duty, "@qa-signoff" with the
// sign-off group's members. The rota channel's header shows who is on duty
// (the board), and on servers that let plugins manage user groups the
// handles are real groups kept in step with the rota.

// handleAnswerEvery is how often one handle is answered in one thread at
// most, cluster-wide.
const handleAnswerEvery = 5 * time.Minute

// boardRecheck bounds how long the board goes unchecked on the instance
// running the tick: an edit made on another instance, or a header an admin
// rewrote, shows within it.
const boardRecheck = time.Minute

// OnDuty is the chat side of the handles and the board. Optional: without
// it handles are not answered and no header is kept.
type OnDuty interface {
	// GroupSync reports whether the handles are real user groups on this
	// server (which then notifies their members itself).
	GroupSync() bool
	// AnswerHandles answers post in its thread: answers say who is on duty
	// for each handle, pages what each "!page" did. Someone on duty who
	// is not in the channel gets a direct message with a link instead of a
	// mention.
	AnswerHandles(ctx context.Context, post HandlePost, answers []HandleAnswer, pages []HandlePage) error
	// ShowOnDuty shows b: the rota channel's header line and, with group
	// sync, the groups' members. It changes nothing that already shows b.
	ShowOnDuty(ctx context.Context, b *Board) error
}

// HandlePost is a post that uses handles.
type HandlePost struct {
	PostID    string
	ChannelID string
	RootID    string // "" for a post that starts a thread
	UserID    string
	Uses      []alias.Use
}

// Thread is the id of the thread to answer in.
func (p HandlePost) Thread() string {
	if p.RootID != "" {
		return p.RootID
	}
	return p.PostID
}

// OnDutyPerson is someone a handle reaches.
type OnDutyPerson struct {
	Role   incident.Role // "" for a group member
	UserID string
	Source rota.Source // why they are on duty (rota, override, swap, cover)
	// For is who they stand in for, and Reason why (away, double duty);
	// empty when they are the rota's first choice.
	For    string
	Reason rota.Reason
}

// HandleAnswer is who a handle reaches now.
type HandleAnswer struct {
	Target alias.Target
	People []OnDutyPerson
	// Open lists the roles nobody is on duty for (a role handle: its role).
	Open []incident.Role
}

// HandlePage is what "<handle> !page" did: the page, or why not.
type HandlePage struct {
	Target alias.Target
	Page   *Page
	Err    error
}

// Board is what the rota channel's header and the handle groups show.
type Board struct {
	ChannelID string // the rota channel; "" = no header
	Holders   map[incident.Role]string
	Handles   alias.Handles
	// Groups maps each sign-off group's handle to its members; filled only
	// with group sync.
	Groups map[string][]string `json:",omitempty"`
}

// boardSeen is what this instance last showed.
type boardSeen struct {
	fingerprint string
	at          time.Time
	next        time.Time // the board may change at this instant, or later
}

// AnswerHandles answers the handles post uses. It costs nothing in the
// store for a post without handles, and otherwise one claim per handle
// (at most one answer per handle and thread every few minutes) and one
// rota read.
func (a *App) AnswerHandles(ctx context.Context, post HandlePost) error {
	if a.onDuty == nil || len(post.Uses) == 0 {
		return nil
	}
	s := a.settings()
	pageText := map[string]string{}
	for _, u := range post.Uses {
		if u.Page {
			pageText[u.Name] = u.PageText
		}
	}
	targets := s.Handles.Targets(post.Uses)
	if len(targets) < len(post.Uses) {
		// Some may be the handles of rotas other than the first: one read
		// of the rotas' directory, only for posts with unknown handles.
		if d, err := a.rotaDirectory(ctx); err == nil && len(d.Rotas) > 1 {
			targets = s.Handles.Targets(post.Uses, d.names()[1:]...)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	groupSync := a.onDuty.GroupSync()
	var answers []HandleAnswer
	var pages []HandlePage
	staffing := map[string]*rota.Staffing{}
	var groups map[string][]string
	now := a.now()
	for _, t := range targets {
		if text, ok := pageText[t.Handle]; ok {
			pages = append(pages, a.pageHandle(ctx, post, t, text))
			continue
		}
		if groupSync {
			continue // the server notifies the group's members itself
		}
		won, err := a.store.Claim(ctx, "alias/v1/"+post.Thread()+"/"+t.Handle, handleAnswerEvery)
		if err != nil {
			return err
		}
		if !won {
			continue
		}
		if t.Kind == alias.KindGroup {
			if groups == nil {
				g, err := a.SignoffGroups(ctx)
				if err != nil {
					return err
				}
				groups = g.Members
			}
			members, ok := groups[t.Group]
			if !ok {
				continue // not a group: just a word that looks like a handle
			}
			ans := HandleAnswer{Target: t}
			for _, m := range members {
				ans.People = append(ans.People, OnDutyPerson{UserID: m})
			}
			answers = append(answers, ans)
			continue
		}
		if staffing[t.Rota] == nil {
			_, st, err := a.StaffingOf(ctx, t.Rota, now)
			if err != nil {
				return err
			}
			staffing[t.Rota] = &st
		}
		answers = append(answers, answerFor(t, staffing[t.Rota]))
	}
	if len(answers) == 0 && len(pages) == 0 {
		return nil
	}
	a.log.Info().Str("post", post.PostID).Str("channel", post.ChannelID).Int("answers", len(answers)).Int("pages", len(pages)).Msg("on-duty handles used")
	return a.onDuty.AnswerHandles(ctx, post, answers, pages)
}

// answerFor says who t (a role or the rota) reaches under st.
func answerFor(t alias.Target, st *rota.Staffing) HandleAnswer {
	ans := HandleAnswer{Target: t}
	roles := incident.Roles
	if t.Kind == alias.KindRole {
		roles = []incident.Role{t.Role}
	}
	for _, role := range roles {
		holder := st.Holders[role]
		if holder == "" {
			ans.Open = append(ans.Open, role)
			continue
		}
		p := OnDutyPerson{Role: role, UserID: holder, Source: st.Duties[role].Source}
		for _, sub := range st.Substitutions {
			if sub.Role == role && sub.UserID == holder {
				p.For, p.Reason = sub.Scheduled, sub.Reason
			}
		}
		if p.For == "" && st.Duties[role].For != "" {
			p.For = st.Duties[role].For // a swap
		}
		ans.People = append(ans.People, p)
	}
	return ans
}

// pageHandle pages through t, which must be a role handle.
func (a *App) pageHandle(ctx context.Context, post HandlePost, t alias.Target, text string) HandlePage {
	if t.Kind != alias.KindRole {
		return HandlePage{Target: t, Err: incident.Invalidf("@%s reaches several people, so it cannot page; page one role instead, e.g. @%s !page <what is wrong>", t.Handle, a.exampleRoleHandle())}
	}
	p, err := a.PageOnDuty(ctx, DutyPageRequest{Actor: post.UserID, Role: t.Role, ChannelID: post.ChannelID, RootID: post.Thread(), Message: text, Rota: t.Rota})
	if err != nil {
		a.log.Warn().Err(err).Str("handle", t.Handle).Str("post", post.PostID).Msg("page through a handle failed")
	}
	return HandlePage{Target: t, Page: p, Err: err}
}

// exampleRoleHandle names a role handle for messages.
func (a *App) exampleRoleHandle() string {
	h := a.settings().Handles
	for _, r := range []incident.Role{incident.RoleRM, incident.RoleL1, incident.RoleIM, incident.RoleL2, incident.RoleL3} {
		if n := h.Roles[r]; n != "" {
			return n
		}
	}
	return "release-manager"
}

// refreshBoard shows who is on duty now in each rota, where that may have
// changed since this instance last showed it (always, with force: after an
// edit). The tick calls it; without force it reads nothing until the next
// instant a board may change (a handoff, an override or away period
// starting or ending) or boardRecheck passes; then the rotas' directory
// and the rotas due.
func (a *App) refreshBoard(ctx context.Context, force bool) error {
	if a.onDuty == nil {
		return nil
	}
	a.boardMu.Lock()
	defer a.boardMu.Unlock()
	now := a.now()
	if seen := a.boardSeen.Load(); !force && seen != nil && now.Before(seen.next) {
		return nil
	}
	d, err := a.rotaDirectory(ctx)
	if err != nil {
		return err
	}
	next := now.Add(boardRecheck)
	var errs []error
	for i, e := range d.Rotas {
		seen := a.boards[e.Name]
		if force || seen == nil || !now.Before(seen.next) {
			if seen, err = a.showBoard(ctx, e, i == 0, seen, force, now); err != nil {
				errs = append(errs, fmt.Errorf("rota %s: %w", e.Name, err))
				continue
			}
			a.boards[e.Name] = seen
		}
		if seen.next.Before(next) {
			next = seen.next
		}
	}
	a.boardSeen.Store(&boardSeen{at: now, next: next})
	return errors.Join(errs...)
}

// showBoard shows rota e's board unless it shows what seen showed.
func (a *App) showBoard(ctx context.Context, e rotaEntry, first bool, seen *boardSeen, force bool, now time.Time) (*boardSeen, error) {
	v, st, err := a.StaffingOf(ctx, e.Name, now)
	if err != nil {
		return nil, err
	}
	b := &Board{ChannelID: v.Rota.ChannelID, Holders: st.Holders, Handles: a.settings().Handles}
	if !first {
		b.Handles = rotaHandles(b.Handles, e.Name)
	} else if a.onDuty.GroupSync() {
		g, err := a.SignoffGroups(ctx)
		if err != nil {
			return nil, err
		}
		b.Groups = map[string][]string{}
		for name, members := range g.Members {
			if h := b.Handles.GroupHandle(name); h != "" {
				b.Groups[h] = members
			}
		}
	}
	fp, _ := json.Marshal(b)
	next := nextBoardChange(v, now)
	if !force && seen != nil && seen.fingerprint == string(fp) {
		return &boardSeen{fingerprint: seen.fingerprint, at: seen.at, next: next}, nil
	}
	if err := a.onDuty.ShowOnDuty(ctx, b); err != nil {
		return nil, err
	}
	return &boardSeen{fingerprint: string(fp), at: now, next: next}, nil
}

// rotaHandles are the handles of rota name: the role handles after its
// name and a dash, its whole-rota handle "<name>-oncall", no groups.
func rotaHandles(h alias.Handles, name string) alias.Handles {
	out := alias.Handles{Roles: map[incident.Role]string{}, Rota: name + alias.OncallSuffix}
	for r, n := range h.Roles {
		if n != "" {
			out.Roles[r] = name + "-" + n
		}
	}
	return out
}

// nextBoardChange is the next instant after now at which who is on duty
// may change by the rota alone, capped at boardRecheck from now.
func nextBoardChange(v *RotaView, now time.Time) time.Time {
	next := now.Add(boardRecheck)
	consider := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	if v.Schedule != nil {
		consider(v.Schedule.Next(now))
	}
	for _, o := range v.Rota.Overrides {
		consider(o.From)
		consider(o.To)
	}
	for _, aw := range v.Rota.Away {
		consider(aw.From)
		consider(aw.To)
	}
	return next
}

// boardChanged refreshes the board after an edit: in the background, or
// at once in tests.
func (a *App) boardChanged() {
	if a.onDuty == nil {
		return
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.refreshBoard(ctx, true); err != nil {
			a.log.Warn().Err(err).Msg("show who is on duty")
		}
	}
	if a.inline {
		run()
		return
	}
	a.goBackground(run)
}

// newBoardSeen is the initial (empty) record of the board shown.
func newBoardSeen() *atomic.Pointer[boardSeen] { return new(atomic.Pointer[boardSeen]) }
