package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Hotfix sign-off: a request on an incident pages the release manager and
// posts a sign-off post; the required groups approve staging, the release
// manager deploys, the groups approve again after deploy. The incident's
// hotfixes are one document (hotfix/v1/<incident id>) written only by
// compare-and-set, so concurrent clicks on two instances serialise there:
// two members of one group approving at once give one sign-off and one
// clear refusal. The sign-off post shows the record; it is re-rendered
// after every change.

func hotfixDoc(incidentID string) string { return "hotfix/v1/" + incidentID }

// HotfixRequest is a hotfix asked for by command or button.
type HotfixRequest struct {
	Actor       string
	Description string
	// Author made the fix, when it is not the actor.
	Author string
	// ReleaseManager, when set, releases it instead of the incident's or
	// the rota's release manager.
	ReleaseManager string
}

// Hotfixes returns the incident's hotfix record (empty if it has none).
func (a *App) Hotfixes(ctx context.Context, inc *incident.Incident) (*hotfix.Book, error) {
	b, _, err := loadDoc[hotfix.Book](ctx, a.store, hotfixDoc(inc.ID))
	if err != nil {
		return nil, fmt.Errorf("read hotfixes of %s: %w", inc.ID, err)
	}
	return b, nil
}

// RequestHotfix opens a hotfix request on an active incident: it checks
// that the required groups can sign it off without its requester and
// author, picks the release manager (four eyes: neither of them), and
// stores the request together with what it owes (see owed.go): the request
// on the timeline, the release manager and the signers brought into the
// channel, the sign-off post, the notices and the release manager's page,
// which the incident's worker does right after.
func (a *App) RequestHotfix(ctx context.Context, inc *incident.Incident, req HotfixRequest) (*hotfix.Hotfix, error) {
	if a.releases == nil {
		return nil, fmt.Errorf("request hotfix: not configured")
	}
	if !inc.Status.Active() {
		return nil, incident.Conflictf("incident %s is resolved: `/incident reopen` it to ship a hotfix for it", inc.ShortRef())
	}
	h, err := hotfix.New(hotfix.Request{IncidentID: inc.ID, Description: req.Description, RequestedBy: req.Actor,
		Author: req.Author, At: a.now(), Groups: a.settings().HotfixGroups})
	if err != nil {
		return nil, err
	}
	groups, err := a.SignoffGroups(ctx)
	if err != nil {
		return nil, err
	}
	if err := groups.CheckRequired(h.Groups, h.Fixers()...); err != nil {
		return nil, err
	}
	if h.ReleaseManager, h.RMNote, err = a.hotfixRM(ctx, inc, h, req.ReleaseManager); err != nil {
		return nil, err
	}
	h.ChannelID = inc.ChannelID
	joiners := append([]string{h.ReleaseManager}, a.groupMembers(groups, h.Groups)...)
	if _, err := oweOn(ctx, a, hotfixDoc(inc.ID), inc.ID, func(b *hotfix.Book, _ bool) ([]incident.Event, []incident.Step, error) {
		c := *h
		if err := b.Open(&c); err != nil {
			return nil, nil, err
		}
		h.N, h.Status = c.N, c.Status
		n := strconv.Itoa(c.N)
		var steps []incident.Step
		for _, u := range joiners {
			steps = append(steps, incident.Step{Kind: incident.StepJoin, User: u})
		}
		steps = append(steps, incident.Step{Kind: incident.StepHotfixPost, Value: n}, incident.Step{Kind: incident.StepHotfixNotice, Event: 0, Value: n},
			incident.Step{Kind: incident.StepHotfixPage, Value: n})
		return []incident.Event{c.Requested()}, steps, nil
	}); err != nil {
		return nil, err
	}
	a.log.Info().Str("incident", inc.ID).Int("hotfix", h.N).Str("rm", h.ReleaseManager).Str("author", h.Author).Msg("hotfix requested")
	return h, nil
}

// hotfixRM picks the release manager of h: the named one, else the
// incident's release manager, else the rota's on duty; when that is one of
// its fixers (the requester or the author) or nobody, the next eligible
// member of the release manager rota, who is not away, is neither fixer
// and holds no other role on the incident. Naming a fixer is refused.
// note says why it is not the incident's or rota's.
func (a *App) hotfixRM(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, named string) (rm, note string, err error) {
	if named != "" {
		if h.IsFixer(named) {
			return "", "", namedFixerRM(h, named)
		}
		return named, "", nil
	}
	v, err := a.incidentRota(ctx, inc)
	if err != nil {
		return "", "", err
	}
	now := a.now()
	scheduled := inc.Roles[incident.RoleRM]
	if scheduled == "" {
		scheduled = v.Rota.OnDuty(v.Schedule, now)[incident.RoleRM].UserID
	}
	if scheduled != "" && !h.IsFixer(scheduled) {
		return scheduled, "", nil
	}
	sub, ok := v.Rota.NextEligible(v.Schedule, now, incident.RoleRM, func(u string) bool {
		roles := inc.RoleOf(u)
		return h.IsFixer(u) || len(roles) > 0 && !slices.Equal(roles, []incident.Role{incident.RoleRM})
	})
	did := "made"
	if scheduled != h.Author {
		did = "requested"
	}
	switch {
	case !ok && scheduled == "":
		return "", "", incident.Conflictf("nobody is release manager on %s or on duty in the rota: name one with `--rm @someone`", inc.ShortRef())
	case !ok:
		return "", "", incident.Conflictf("<@%s> %s the fix and is the release manager, and nobody else on the release manager rota is free to release it (four eyes): name one with `--rm @someone` who neither requested nor made it", scheduled, did)
	case scheduled == "":
		return sub, fmt.Sprintf("nobody held Release manager; <@%s> is next on the rota", sub), nil
	case did == "requested":
		return sub, hotfix.RequesterSubstituteNote(scheduled, sub), nil
	}
	return sub, hotfix.SubstituteNote(scheduled, sub), nil
}

// namedFixerRM refuses named, who requested or made h, as its release
// manager, saying what to do instead.
func namedFixerRM(h *hotfix.Hotfix, named string) error {
	who, did := fmt.Sprintf("<@%s>", named), "made"
	if named == h.RequestedBy {
		who = "you"
		if named != h.Author {
			did = "requested"
		}
	}
	return incident.Forbiddenf("%s %s this fix, so %s may not release it too (four eyes): name a release manager who neither requested nor made it with `--rm @someone`, or leave `--rm` out to page the incident's or the rota's release manager",
		who, did, who)
}

// hotfixPostStep posts hotfix n's sign-off post, once, and links it.
func (a *App) hotfixPostStep(ctx context.Context, inc *incident.Incident, n int) error {
	h, groups, err := a.hotfixAndGroups(ctx, inc, n)
	if err != nil || h == nil || h.PostID != "" {
		return err // gone, or posted
	}
	postID, err := a.releases.PostHotfix(ctx, inc, h, groups)
	if err != nil {
		return fmt.Errorf("post the sign-off of hotfix %d: %w", n, err)
	}
	_, err = a.updateHotfix(ctx, inc.ID, n, func(x *hotfix.Hotfix) error {
		if x.PostID != "" {
			return errUnchanged
		}
		x.PostID = postID
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// hotfixPageStep pages hotfix n's release manager with the paging
// machinery (escalating to the incident manager when unacknowledged), once
// (the page's id follows from the hotfix), and links the page.
func (a *App) hotfixPageStep(ctx context.Context, inc *incident.Incident, n int) error {
	if a.pager == nil {
		return nil
	}
	b, err := a.Hotfixes(ctx, inc)
	if err != nil {
		return err
	}
	h, err := b.Get(n)
	if err != nil || !h.Active() || h.PageID != "" {
		return nil
	}
	msg := fmt.Sprintf("Hotfix %d to release: %s", h.N, h.Description)
	if utf8.RuneCountInString(msg) > MaxPageMessageRunes {
		msg = string([]rune(msg)[:MaxPageMessageRunes-1]) + "…"
	}
	p, err := a.openPage(ctx, inc, h.RequestedBy, msg, PageTarget{UserID: h.ReleaseManager, Role: incident.RoleRM, Pos: -1}, h.N, fmt.Sprintf("%s-h%d", inc.ID, h.N))
	if err != nil {
		return fmt.Errorf("page the release manager of hotfix %d: %w", n, err)
	}
	_, err = a.updateHotfix(ctx, inc.ID, n, func(x *hotfix.Hotfix) error {
		if x.PageID == p.ID {
			return errUnchanged
		}
		x.PageID = p.ID
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// updateHotfix applies change to hotfix n (0: the active one, else the
// latest) with compare-and-set and returns it as stored.
func (a *App) updateHotfix(ctx context.Context, incidentID string, n int, change func(*hotfix.Hotfix) error) (*hotfix.Hotfix, error) {
	var out hotfix.Hotfix
	_, _, err := updateDoc(ctx, a.store, hotfixDoc(incidentID), func(b *hotfix.Book, _ bool) error {
		h, err := b.Get(n)
		if err != nil {
			return err
		}
		if err := change(h); err != nil {
			return err
		}
		b.Revision++
		out = *h
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SignRequest is a group member's verdict on a hotfix stage.
type SignRequest struct {
	Actor string
	// N is the hotfix (0: the active one). Stage, when set, is the stage
	// the signer saw: a verdict typed into a dialog while the hotfix moved
	// on is refused rather than applied to the next stage.
	N       int
	Stage   hotfix.Stage
	Group   string
	Approve bool
	Reason  string
}

// SignHotfix records a sign-off; membership is checked against the current
// groups. The last approval of staging tells the release manager to
// deploy; the last one after deploy completes the hotfix.
func (a *App) SignHotfix(ctx context.Context, inc *incident.Incident, req SignRequest) (*hotfix.Hotfix, error) {
	group, err := hotfix.ParseGroupName(req.Group)
	if err != nil {
		return nil, err
	}
	groups, err := a.SignoffGroups(ctx)
	if err != nil {
		return nil, err
	}
	return a.changeHotfix(ctx, inc, req.N, func(h *hotfix.Hotfix) ([]incident.Event, error) {
		if err := h.AtStage(req.Stage); err != nil {
			return nil, err
		}
		return h.Sign(a.now(), req.Actor, group, req.Approve, req.Reason, groups)
	})
}

// MarkDeployed records that the release manager deployed hotfix n (0: the
// active one), which opens the after-deploy sign-off.
func (a *App) MarkDeployed(ctx context.Context, actor string, inc *incident.Incident, n int) (*hotfix.Hotfix, error) {
	h, err := a.changeHotfix(ctx, inc, n, func(h *hotfix.Hotfix) ([]incident.Event, error) {
		ev, err := h.Deploy(a.now(), actor)
		return []incident.Event{ev}, err
	})
	if err != nil {
		return nil, err
	}
	if h.PageID != "" {
		// Deploying answers the page, if the release manager had not.
		if _, err := a.AcknowledgePage(ctx, actor, h.PageID); err != nil && !errors.Is(err, ErrPageAlreadyAcknowledged) {
			a.log.Info().Err(err).Str("page", h.PageID).Msg("acknowledge the release manager's page on deploy")
		}
	}
	return h, nil
}

// CancelHotfix withdraws the active hotfix. Its requester, author and
// release manager, the incident manager and system admins may.
func (a *App) CancelHotfix(ctx context.Context, actor string, inc *incident.Incident, reason string) (*hotfix.Hotfix, error) {
	admin := a.dir.IsSystemAdmin(ctx, actor)
	return a.changeHotfix(ctx, inc, 0, func(h *hotfix.Hotfix) ([]incident.Event, error) {
		if !admin && !slices.Contains([]string{h.RequestedBy, h.Author, h.ReleaseManager, inc.Roles[incident.RoleIM]}, actor) {
			return nil, incident.Forbiddenf("only the requester, the author, the release manager of %s, the incident manager or a system admin may cancel it", h.Ref())
		}
		ev, err := h.Cancel(a.now(), actor, reason)
		return []incident.Event{ev}, err
	})
}

// changeHotfix applies change to hotfix n (0: the active one, else the
// latest) and stores it with what it owes: its events on the timeline, the
// sign-off post re-rendered, a notice per event, and the release
// manager's page closed when the hotfix ended without them.
func (a *App) changeHotfix(ctx context.Context, inc *incident.Incident, n int, change func(*hotfix.Hotfix) ([]incident.Event, error)) (*hotfix.Hotfix, error) {
	var out hotfix.Hotfix
	_, err := oweOn(ctx, a, hotfixDoc(inc.ID), inc.ID, func(b *hotfix.Book, _ bool) ([]incident.Event, []incident.Step, error) {
		h, err := b.Get(n)
		if err != nil {
			return nil, nil, err
		}
		evs, err := change(h)
		if err != nil {
			return nil, nil, err
		}
		b.Revision++
		out = *h
		num := strconv.Itoa(h.N)
		steps := []incident.Step{{Kind: incident.StepHotfixRender, Value: num}}
		for i := range evs {
			steps = append(steps, incident.Step{Kind: incident.StepHotfixNotice, Event: i, Value: num})
		}
		if h.Status == hotfix.StatusRejected || h.Status == hotfix.StatusCancelled {
			steps = append(steps, incident.Step{Kind: incident.StepHotfixEnded, Value: num})
		}
		return evs, steps, nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// hotfixRenderStep re-renders hotfix n's sign-off post.
func (a *App) hotfixRenderStep(ctx context.Context, inc *incident.Incident, n int) error {
	h, groups, err := a.hotfixAndGroups(ctx, inc, n)
	if err != nil || h == nil || h.PostID == "" {
		return err
	}
	return a.releases.UpdateHotfix(ctx, inc, h, groups)
}

// hotfixNoticeStep tells people about event ev of hotfix n.
func (a *App) hotfixNoticeStep(ctx context.Context, inc *incident.Incident, n int, ev incident.Event) error {
	h, groups, err := a.hotfixAndGroups(ctx, inc, n)
	if err != nil || h == nil {
		return err
	}
	view, bc := a.broadcastFor(inc)
	return a.releases.HotfixNotice(ctx, view, h, groups, ev, bc)
}

// hotfixAndGroups reads hotfix n and the sign-off groups; h is nil when
// the hotfix is gone.
func (a *App) hotfixAndGroups(ctx context.Context, inc *incident.Incident, n int) (*hotfix.Hotfix, *hotfix.Groups, error) {
	b, err := a.Hotfixes(ctx, inc)
	if err != nil {
		return nil, nil, err
	}
	h, err := b.Get(n)
	if err != nil {
		return nil, nil, nil
	}
	groups, err := a.SignoffGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	return h, groups, nil
}

// closeReleasePage stops paging the release manager for hotfix n, which
// ended before they acknowledged.
func (a *App) closeReleasePage(ctx context.Context, inc *incident.Incident, n int) error {
	b, err := a.Hotfixes(ctx, inc)
	if err != nil {
		return err
	}
	h, err := b.Get(n)
	if err != nil || h.PageID == "" {
		return nil
	}
	// Its entry in the work index finds it closed and goes.
	if _, err := a.closePage(ctx, h.PageID, inc, hotfixEndedWhy(h), true); err != nil && !errors.Is(err, incident.ErrNotFound) {
		return fmt.Errorf("close the release manager's page: %w", err)
	}
	return nil
}

// groupMembers lists the members of the named groups, once each.
func (a *App) groupMembers(g *hotfix.Groups, names []string) []string {
	var out []string
	for _, n := range names {
		for _, m := range g.Members[n] {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// hotfixEndedWhy is why the release manager's page of an ended hotfix
// closes.
func hotfixEndedWhy(h *hotfix.Hotfix) string {
	return fmt.Sprintf("hotfix %d was %s", h.N, h.Status)
}

// releasePageEnded reports whether p calls a release manager for a hotfix
// that has ended, and why: the tick then closes it instead of notifying.
func (a *App) releasePageEnded(ctx context.Context, p *Page) (string, bool, error) {
	if p.Hotfix == 0 {
		return "", false, nil
	}
	b, _, err := loadDoc[hotfix.Book](ctx, a.store, hotfixDoc(p.IncidentID))
	if err != nil {
		return "", false, err
	}
	h, err := b.Get(p.Hotfix)
	if err != nil || h.Active() {
		return "", false, nil
	}
	return hotfixEndedWhy(h), true, nil
}
