package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// author, picks the release manager (four eyes: neither of them), stores the request,
// posts the sign-off post, records the request and pages the release
// manager. Either the request and its post both exist afterwards, or
// neither does.
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
	if _, _, err := updateDoc(ctx, a.store, hotfixDoc(inc.ID), func(b *hotfix.Book, _ bool) error {
		c := *h
		if err := b.Open(&c); err != nil {
			return err
		}
		h.N = c.N
		h.Status = c.Status
		return nil
	}); err != nil {
		return nil, err
	}
	for _, u := range append([]string{h.ReleaseManager}, a.groupMembers(groups, h.Groups)...) {
		a.join(ctx, inc, u)
	}
	postID, err := a.releases.PostHotfix(ctx, inc, h, groups)
	if err != nil {
		a.dropHotfix(ctx, inc.ID, h.N)
		return nil, fmt.Errorf("request hotfix: post sign-off: %w", err)
	}
	linked, err := a.updateHotfix(ctx, inc.ID, h.N, func(x *hotfix.Hotfix) error {
		x.PostID = postID
		return nil
	})
	if err != nil {
		a.dropHotfix(ctx, inc.ID, h.N)
		if derr := a.chat.DeletePost(context.WithoutCancel(ctx), postID); derr != nil {
			a.log.Error().Err(derr).Str("incident", inc.ID).Msg("undo hotfix post")
		}
		return nil, fmt.Errorf("request hotfix: link post: %w", err)
	}
	h = linked
	ev, _ := a.record(ctx, inc.ID, h.Requested())
	a.hotfixNotices(ctx, inc, h, groups, ev)
	h = a.pageReleaseManager(ctx, inc, h)
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
	v, err := a.Rota(ctx)
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

// pageReleaseManager pages the hotfix's release manager with the paging
// machinery (escalating to the incident manager when unacknowledged). A
// failure is logged: the request stands and its post names them. It
// returns the hotfix with its page linked.
func (a *App) pageReleaseManager(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix) *hotfix.Hotfix {
	if a.pager == nil {
		return h
	}
	msg := fmt.Sprintf("Hotfix %d to release: %s", h.N, h.Description)
	if utf8.RuneCountInString(msg) > MaxPageMessageRunes {
		msg = string([]rune(msg)[:MaxPageMessageRunes-1]) + "…"
	}
	p, err := a.openPage(ctx, inc, h.RequestedBy, msg, PageTarget{UserID: h.ReleaseManager, Role: incident.RoleRM, Pos: -1}, h.N, "")
	if err != nil {
		a.log.Error().Err(err).Str("incident", inc.ID).Int("hotfix", h.N).Msg("page the release manager")
		return h
	}
	linked, err := a.updateHotfix(ctx, inc.ID, h.N, func(x *hotfix.Hotfix) error {
		x.PageID = p.ID
		return nil
	})
	if err != nil {
		// The page still closes with the hotfix: the tick finds it by number.
		a.log.Warn().Err(err).Str("incident", inc.ID).Str("page", p.ID).Msg("link the release manager's page to the hotfix")
		return h
	}
	return linked
}

// dropHotfix undoes a request whose post could not be made or linked.
func (a *App) dropHotfix(ctx context.Context, incidentID string, n int) {
	_, _, err := updateDoc(context.WithoutCancel(ctx), a.store, hotfixDoc(incidentID), func(b *hotfix.Book, _ bool) error {
		b.Drop(n)
		return nil
	})
	if err != nil {
		a.log.Error().Err(err).Str("incident", incidentID).Int("hotfix", n).Msg("undo half-made hotfix request")
	}
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
	var evs []incident.Event
	h, err := a.updateHotfix(ctx, inc.ID, req.N, func(h *hotfix.Hotfix) error {
		if err := h.AtStage(req.Stage); err != nil {
			return err
		}
		evs, err = h.Sign(a.now(), req.Actor, group, req.Approve, req.Reason, groups)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.afterHotfix(ctx, inc, h, groups, evs...)
	return h, nil
}

// MarkDeployed records that the release manager deployed hotfix n (0: the
// active one), which opens the after-deploy sign-off.
func (a *App) MarkDeployed(ctx context.Context, actor string, inc *incident.Incident, n int) (*hotfix.Hotfix, error) {
	var ev incident.Event
	h, err := a.updateHotfix(ctx, inc.ID, n, func(h *hotfix.Hotfix) error {
		var err error
		ev, err = h.Deploy(a.now(), actor)
		return err
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
	groups, err := a.SignoffGroups(ctx)
	if err != nil {
		a.log.Warn().Err(err).Str("incident", inc.ID).Msg("read sign-off groups to render the hotfix")
		groups = &hotfix.Groups{}
	}
	a.afterHotfix(ctx, inc, h, groups, ev)
	return h, nil
}

// CancelHotfix withdraws the active hotfix. Its requester, author and
// release manager, the incident manager and system admins may.
func (a *App) CancelHotfix(ctx context.Context, actor string, inc *incident.Incident, reason string) (*hotfix.Hotfix, error) {
	admin := a.dir.IsSystemAdmin(ctx, actor)
	var ev incident.Event
	h, err := a.updateHotfix(ctx, inc.ID, 0, func(h *hotfix.Hotfix) error {
		if !admin && !slices.Contains([]string{h.RequestedBy, h.Author, h.ReleaseManager, inc.Roles[incident.RoleIM]}, actor) {
			return incident.Forbiddenf("only the requester, the author, the release manager of %s, the incident manager or a system admin may cancel it", h.Ref())
		}
		var err error
		ev, err = h.Cancel(a.now(), actor, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	groups, err := a.SignoffGroups(ctx)
	if err != nil {
		groups = &hotfix.Groups{}
	}
	a.afterHotfix(ctx, inc, h, groups, ev)
	return h, nil
}

// afterHotfix records the events of a stored change, re-renders the
// sign-off post and tells people. Only the recording can fail visibly; it
// logs what it could not store.
func (a *App) afterHotfix(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, evs ...incident.Event) {
	for i, ev := range evs {
		evs[i], _ = a.record(ctx, inc.ID, ev)
	}
	if a.releases == nil {
		return
	}
	if h.PostID != "" {
		if err := a.releases.UpdateHotfix(ctx, inc, h, groups); err != nil {
			a.log.Warn().Err(err).Str("incident", inc.ID).Int("hotfix", h.N).Msg("update hotfix post")
		}
	}
	a.hotfixNotices(ctx, inc, h, groups, evs...)
	if h.Status == hotfix.StatusRejected || h.Status == hotfix.StatusCancelled {
		a.closeReleasePage(ctx, inc, h)
	}
}

func (a *App) hotfixNotices(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, evs ...incident.Event) {
	view, bc := a.broadcastFor(inc)
	for _, ev := range evs {
		if err := a.releases.HotfixNotice(ctx, view, h, groups, ev, bc); err != nil {
			a.log.Warn().Err(err).Str("incident", inc.ID).Str("event_type", string(ev.Type)).Msg("hotfix notice")
		}
	}
}

// closeReleasePage stops paging the release manager for a hotfix that
// ended before they acknowledged.
func (a *App) closeReleasePage(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix) {
	if h.PageID == "" {
		return
	}
	p, err := a.PageRecord(ctx, h.PageID)
	if err != nil {
		a.log.Warn().Err(err).Str("page", h.PageID).Msg("read the release manager's page to close it")
		return
	}
	// Its entry in the work index finds it closed and goes.
	if _, err := a.closePage(ctx, p.ID, inc, hotfixEndedWhy(h), true); err != nil {
		a.log.Warn().Err(err).Str("page", h.PageID).Msg("close the release manager's page")
	}
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
