package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var _ app.Pager = (*Bot)(nil)

// Colours of a page's acknowledgement attachment.
const (
	pagePendingColor = "#d0021b"
	pageDoneColor    = resolvedColor
	pageClosedColor  = "#9b9b9b"
)

// NotifyPage delivers one notification of a page: for the page itself or
// an escalation, a post in the page's channel that mentions the target
// and a direct message, both with an Acknowledge button; for a
// re-notification, a reminder in reply to each of the target's page posts.
// It returns an error only when nothing reached the target; a part that
// failed is logged.
func (b *Bot) NotifyPage(ctx context.Context, p *app.Page, inc *incident.Incident, n app.Notice) (app.Delivery, error) {
	target := p.Targets[n.Level-1].UserID
	var roots []app.PagePost
	for _, pp := range p.Posts {
		if pp.Level == n.Level {
			roots = append(roots, pp)
		}
	}
	var d app.Delivery
	var errs []error
	names := b.pageNames(inc)
	if n.Kind == app.NoticeRenotify && len(roots) > 0 {
		for _, r := range roots {
			msg := fmt.Sprintf("%s :bell: **Reminder** (notice %d): you are still paged for %s and nobody has acknowledged yet. Acknowledge on the post above.",
				names.mention(target), n.Number, pageRef(inc, p, r.DM))
			if _, appErr := b.create(ctx, &model.Post{UserId: b.userID, ChannelId: r.ChannelID, RootId: r.ID, Message: msg}); appErr != nil {
				errs = append(errs, fmt.Errorf("remind in reply to %s: %w", r.ID, appErr))
				continue
			}
			d.Sent++
		}
	} else {
		dests := []app.PagePost{{ChannelID: p.ChannelID, Level: n.Level}}
		if dm, appErr := b.directChannel(target); appErr != nil {
			errs = append(errs, fmt.Errorf("direct channel with %s: %w", target, appErr))
		} else {
			dests = append(dests, app.PagePost{ChannelID: dm, Level: n.Level, DM: true})
		}
		for _, pp := range dests {
			created, appErr := b.create(ctx, b.pagePost(p, inc, pp, names))
			if appErr != nil {
				errs = append(errs, fmt.Errorf("post page in channel %s: %w", pp.ChannelID, appErr))
				continue
			}
			pp.ID = created.Id
			d.Posts = append(d.Posts, pp)
			d.Sent++
		}
	}
	err := errors.Join(errs...)
	if err != nil && d.Sent > 0 {
		b.api.LogWarn("page notification partly failed", "page", p.ID, "notice", n.Number, "error", err.Error())
		err = nil
	}
	if err != nil {
		return d, fmt.Errorf("notify page %s, notice %d: %w", p.ID, n.Number, err)
	}
	return d, nil
}

// UpdatePage re-renders every post of the page with a button to show its
// state; inc may be nil when the incident is gone.
func (b *Bot) UpdatePage(ctx context.Context, p *app.Page, inc *incident.Incident) error {
	var errs []error
	names := b.pageNames(inc)
	for _, pp := range p.Posts {
		post := b.pagePost(p, inc, pp, names)
		post.Id = pp.ID
		if _, appErr := b.update(ctx, post); appErr != nil {
			errs = append(errs, fmt.Errorf("update page post %s: %w", pp.ID, appErr))
		}
	}
	return errors.Join(errs...)
}

// pageRef says what the page is for in one of its posts: its incident
// (without its title in a shared channel that may not see it), or the
// role on duty it calls outside any incident.
func pageRef(inc *incident.Incident, p *app.Page, dm bool) string {
	switch {
	case p.Duty != nil:
		return "the on-duty **" + p.Duty.Role.Title() + "**"
	case p.Redacted && !dm:
		return "incident #" + p.IncidentID + " (private)"
	}
	return "incident " + incRef(inc, p)
}

// incRef names the page's incident: "#id: title".
func incRef(inc *incident.Incident, p *app.Page) string {
	if inc == nil {
		return "#" + p.IncidentID
	}
	return inc.ShortRef() + " **" + Inline(inc.Title) + "**"
}

// pageNames looks each user and the incident channel up once per
// rendering: a page's posts name the same few people many times.
type pageNames struct {
	lookup  func(userID string) string
	m       map[string]string
	channel string // link to the incident channel, "" if unknown
}

func (b *Bot) pageNames(inc *incident.Incident) *pageNames {
	n := &pageNames{lookup: b.mention, m: map[string]string{}}
	if inc != nil {
		n.channel = b.channelLink(inc)
	}
	return n
}

// mention renders a user as @username.
func (n *pageNames) mention(userID string) string {
	s, ok := n.m[userID]
	if !ok {
		s = n.lookup(userID)
		n.m[userID] = s
	}
	return s
}

// quiet renders a user as @username without notifying them: the zero
// width space after "@" keeps the server's mention parser off. Only the
// target of a post is really mentioned, so that a page notifies exactly
// the people it is for.
func (n *pageNames) quiet(userID string) string {
	return strings.Replace(n.mention(userID), "@", "@"+zeroWidthSpace, 1)
}

// pagePost renders the page post pp (for its level's target, in its
// channel).
func (b *Bot) pagePost(p *app.Page, inc *incident.Incident, pp app.PagePost, names *pageNames) *model.Post {
	t := p.Targets[pp.Level-1]
	var m strings.Builder
	redacted := p.Redacted && !pp.DM
	fmt.Fprintf(&m, "#### :rotating_light: Page: %s\n", pageRef(inc, p, pp.DM))
	as := "by name"
	if t.Role != "" {
		as = "as **" + t.Role.Title() + "**"
	}
	fmt.Fprintf(&m, "%s, please respond: you are paged %s", names.mention(t.UserID), as)
	switch {
	case p.Duty != nil:
		// Outside any incident: no severity, no incident channel.
	case inc != nil && redacted:
		fmt.Fprintf(&m, " · %s (%s) · the details are in your direct messages", inc.Severity, inc.Severity.Label())
	case inc != nil:
		fmt.Fprintf(&m, " · %s (%s) · %s", inc.Severity, inc.Severity.Label(), names.channel)
	}
	if pp.Level > 1 {
		fmt.Fprintf(&m, "\nEscalated: %s did not acknowledge.", names.quiet(p.Targets[pp.Level-2].UserID))
	} else if p.By != incident.ActorSystem {
		fmt.Fprintf(&m, "\nPaged by %s.", names.quiet(p.By))
	}
	if p.Message != "" && !redacted {
		m.WriteString("\n" + Quote(p.Message))
	}
	post := &model.Post{UserId: b.userID, ChannelId: pp.ChannelID, Message: m.String()}
	post.AddProp(wire.PropPageID, p.ID)
	post.AddProp(wire.PropPageLevel, strconv.Itoa(pp.Level))
	post.AddProp("attachments", []*model.MessageAttachment{b.pageAttachment(p, names)})
	return post
}

// PagePosts finds the page's root posts made since since in its channel
// and in its targets' direct messages with the bot.
func (b *Bot) PagePosts(_ context.Context, p *app.Page, since time.Time) ([]app.PagePost, error) {
	type place struct {
		channel string
		dm      bool
	}
	places := []place{{p.ChannelID, false}}
	for _, t := range p.Targets {
		if dm, appErr := b.directChannel(t.UserID); appErr == nil {
			places = append(places, place{dm, true})
		}
	}
	var out []app.PagePost
	var errs []error
	for _, pl := range places {
		list, appErr := b.api.GetPostsSince(pl.channel, since.UnixMilli())
		if appErr != nil {
			errs = append(errs, fmt.Errorf("posts of channel %s: %w", pl.channel, appErr))
			continue
		}
		for _, id := range list.Order {
			post := list.Posts[id]
			if post == nil || post.UserId != b.userID || post.RootId != "" || post.DeleteAt != 0 || post.GetProp(wire.PropPageID) != p.ID {
				continue
			}
			level := 1
			if s, ok := post.GetProp(wire.PropPageLevel).(string); ok {
				if n, err := strconv.Atoi(s); err == nil {
					level = n
				}
			}
			out = append(out, app.PagePost{ID: post.Id, ChannelID: pl.channel, Level: level, DM: pl.dm})
		}
	}
	return out, errors.Join(errs...)
}

// pageAttachment shows the page's state: who was paged when, and who
// acknowledged; the button while it waits.
func (b *Bot) pageAttachment(p *app.Page, names *pageNames) *model.MessageAttachment {
	var lines []string
	switch {
	case !p.AckedAt.IsZero():
		lines = append(lines, "✅ Acknowledged by "+names.quiet(p.AckedBy)+" at "+formatTime(p.AckedAt))
	case !p.ClosedAt.IsZero():
		lines = append(lines, "⏹ Closed unacknowledged at "+formatTime(p.ClosedAt)+": "+p.ClosedWhy)
	default:
		lines = append(lines, "⏳ Not acknowledged yet")
	}
	for i, t := range p.Targets {
		lines = append(lines, fmt.Sprintf("Level %d: %s paged %s", i+1, names.quiet(t.UserID), formatTime(t.At)))
	}
	att := &model.MessageAttachment{Fallback: "Page", Title: "Acknowledgement", Text: strings.Join(lines, "\n")}
	switch {
	case !p.AckedAt.IsZero():
		att.Color = pageDoneColor
	case !p.ClosedAt.IsZero():
		att.Color = pageClosedColor
	default:
		att.Color = pagePendingColor
		att.Actions = []*model.PostAction{{
			Id: wire.ActionAckPage, Type: model.PostActionTypeButton, Name: "Acknowledge", Style: "primary",
			Integration: &model.PostActionIntegration{
				URL:     "/plugins/" + b.pluginID + wire.ActionsPath + wire.ActionAckPage,
				Context: map[string]any{wire.ContextPageID: p.ID},
			},
		}}
	}
	return att
}
