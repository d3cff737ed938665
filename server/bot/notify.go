package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Announce tells the broadcast channel that inc started, with a link to its
// channel.
func (b *Bot) Announce(ctx context.Context, inc *incident.Incident, broadcastChannelID string) error {
	msg := fmt.Sprintf("#### :rotating_light: Incident %s started: %s\n**%s (%s)** · started by %s · join %s",
		inc.ShortRef(), Inline(inc.Title), inc.Severity, inc.Severity.Label(), b.mention(inc.CreatedBy), b.channelLink(inc))
	if inc.Summary != "" {
		msg += "\n" + Quote(inc.Summary)
	}
	if inc.Redacted() {
		msg = fmt.Sprintf("#### :lock: Private incident %s started\n**%s (%s)** · %s", inc.ShortRef(), inc.Severity, inc.Severity.Label(), b.askFor(inc))
	}
	_, err := b.post(ctx, broadcastChannelID, msg, model.StringInterface{wire.PropIncidentID: inc.ID})
	if err != nil {
		return fmt.Errorf("announce incident %s: %w", inc.ID, err)
	}
	return nil
}

// PropEvents lists the keys of the timeline events a post publishes, so
// that a retried publish posts only the events an earlier attempt did not.
const PropEvents = "incident_events"

// batchRunes bounds the text of one post that publishes several events,
// well under the server's 16,383.
const batchRunes = 12000

// Publish posts events in the incident channel and, for those stakeholders
// follow (status updates and lifecycle changes), in the broadcast channel:
// the events for one channel together, in as few posts as fit.
func (b *Bot) Publish(ctx context.Context, inc *incident.Incident, events []incident.Event, broadcastChannelID string) error {
	link := sync.OnceValue(func() string { return b.channelLink(inc) })
	var local, broadcast []published
	for _, ev := range events {
		l, bc := b.renderEvent(inc, ev, link)
		if l != "" {
			local = append(local, published{ev.Key, l})
		}
		if bc != "" && broadcastChannelID != "" && broadcastChannelID != inc.ChannelID {
			broadcast = append(broadcast, published{ev.Key, bc})
		}
	}
	if err := b.postEvents(ctx, inc, inc.ChannelID, local); err != nil {
		return fmt.Errorf("post to incident channel: %w", err)
	}
	if err := b.postEvents(ctx, inc, broadcastChannelID, broadcast); err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	return nil
}

// published is an event rendered for one channel.
type published struct {
	key, text string
}

// postEvents posts the rendered events in channel, as few posts as the
// size bound allows; within a follow-up step's retry, the events an
// earlier attempt posted are left out.
func (b *Bot) postEvents(ctx context.Context, inc *incident.Incident, channel string, items []published) error {
	if len(items) == 0 {
		return nil
	}
	if _, retry, since, ok := work.Once(ctx, channel); ok && retry {
		done, err := b.postedEvents(channel, since)
		if err != nil {
			return err
		}
		items = slices.DeleteFunc(items, func(p published) bool { return p.key != "" && done[p.key] })
	}
	for len(items) > 0 {
		n, size := 0, 0
		for n < len(items) && (n == 0 || size+utf8.RuneCountInString(items[n].text) < batchRunes) {
			size += utf8.RuneCountInString(items[n].text) + 2
			n++
		}
		batch := items[:n]
		items = items[n:]
		texts, keys := make([]string, 0, n), make([]any, 0, n)
		for _, it := range batch {
			texts = append(texts, it.text)
			if it.key != "" {
				keys = append(keys, it.key)
			}
		}
		if err := work.Fence(ctx); err != nil {
			return err
		}
		p := &model.Post{UserId: b.userID, ChannelId: channel, Message: strings.Join(texts, "\n\n")}
		p.AddProp(wire.PropIncidentID, inc.ID)
		if len(keys) > 0 {
			p.AddProp(PropEvents, keys)
		}
		leave, err := b.slow.enter(ctx)
		if err != nil {
			return err
		}
		_, appErr := b.api.CreatePost(p)
		leave()
		if appErr != nil {
			return appErr
		}
	}
	return nil
}

// postedEvents returns the keys of the events the bot published in channel
// since since.
func (b *Bot) postedEvents(channel string, since time.Time) (map[string]bool, error) {
	list, appErr := b.api.GetPostsSince(channel, since.UnixMilli())
	if appErr != nil {
		return nil, fmt.Errorf("look for earlier posts in channel %s: %w", channel, appErr)
	}
	done := map[string]bool{}
	for _, id := range list.Order {
		p := list.Posts[id]
		if p == nil || p.UserId != b.userID || p.DeleteAt != 0 {
			continue
		}
		keys, _ := p.GetProp(PropEvents).([]any)
		for _, k := range keys {
			if s, ok := k.(string); ok {
				done[s] = true
			}
		}
	}
	return done, nil
}

// renderEvent returns the incident-channel message and the broadcast message
// ("" = not broadcast) for an event; channelLink renders the link to the
// incident channel (once per batch).
func (b *Bot) renderEvent(inc *incident.Incident, ev incident.Event, channelLink func() string) (local, broadcast string) {
	who := b.mention(ev.Actor)
	head := fmt.Sprintf("**Incident %s: %s**", inc.ShortRef(), Inline(inc.Title))
	// In a broadcast, a private incident's details may be left out: the
	// title, the text, and the channel link (its name carries the title).
	text := func(s string) string { return "\n" + Quote(s) }
	link := channelLink
	if inc.Redacted() {
		head = fmt.Sprintf("**Private incident %s**", inc.ShortRef())
		text = func(string) string { return "" }
		link = func() string { return b.askFor(inc) }
	}
	switch ev.Type {
	case incident.EventStatusUpdate:
		local = fmt.Sprintf(":mega: **Status update** by %s (%s, %s)\n%s", who, inc.Severity, inc.Status.Label(), Quote(ev.Text))
		broadcast = fmt.Sprintf(":mega: %s · status update by %s (%s, %s) · %s%s", head, who, inc.Severity, inc.Status.Label(), link(), text(ev.Text))
	case incident.EventNote:
		local = fmt.Sprintf(":memo: Note by %s\n%s", who, Quote(ev.Text))
	case incident.EventSeverityChanged:
		local = fmt.Sprintf(":warning: %s changed the severity from %s to **%s**", who, ev.Data[incident.DataFrom], ev.Data[incident.DataTo])
		broadcast = fmt.Sprintf(":warning: %s is now **%s** (was %s), changed by %s · %s", head, ev.Data[incident.DataTo], ev.Data[incident.DataFrom], who, link())
	case incident.EventMitigated:
		local = fmt.Sprintf(":large_orange_diamond: %s marked the incident **mitigated**", who)
		broadcast = fmt.Sprintf(":large_orange_diamond: %s is **mitigated** (by %s) · %s", head, who, link())
	case incident.EventResolved:
		local = fmt.Sprintf(":white_check_mark: %s **resolved** the incident", who)
		broadcast = fmt.Sprintf(":white_check_mark: %s is **resolved** (by %s) · %s", head, who, link())
		if ev.Text != "" {
			local += "\n" + Quote(ev.Text)
			broadcast += text(ev.Text)
		}
	case incident.EventRoleAssigned:
		role := incident.Role(ev.Data[incident.DataRole])
		local = fmt.Sprintf(":bust_in_silhouette: %s is now **%s** (assigned by %s)", b.mention(ev.Data[incident.DataTo]), role.Title(), who)
		if ev.Data[incident.DataWhy] == "take" {
			local = fmt.Sprintf(":bust_in_silhouette: %s took the open role **%s**", who, role.Title())
		}
	case incident.EventAlertRepeated:
		local = fmt.Sprintf(":repeat: %s fired again: %s", ev.Data[incident.DataAlertSource], Inline(ev.Text))
	case incident.EventAlertResolved:
		local = fmt.Sprintf(":green_heart: %s reports the alert resolved: %s. The incident stays open until someone resolves it.",
			ev.Data[incident.DataAlertSource], Inline(ev.Text))
	case incident.EventUpdateSnoozed:
		local = fmt.Sprintf(":zzz: %s snoozed status update reminders (%s)", who, ev.Text)
	case incident.EventHandoverDone:
		role := incident.Role(ev.Data[incident.DataRole])
		local = fmt.Sprintf(":handshake: %s handed **%s** over to %s", b.mention(ev.Data[incident.DataFrom]), role.Title(), who)
	case incident.EventReopened:
		local = fmt.Sprintf(":arrows_counterclockwise: %s **reopened** the incident", who)
		broadcast = fmt.Sprintf(":arrows_counterclockwise: %s was **reopened** by %s · %s", head, who, link())
		if ev.Text != "" {
			local += "\n" + Quote(ev.Text)
		}
	}
	return local, broadcast
}

// channelLink renders a link to the incident channel; Mattermost turns
// ~name into a link for readers who can see the channel.
func (b *Bot) channelLink(inc *incident.Incident) string {
	name, _, ok := b.Channel(inc.ChannelID)
	if !ok {
		return "the incident channel"
	}
	return "~" + name
}

// askFor tells outsiders of a private incident whom to ask for access,
// without notifying them.
func (b *Bot) askFor(inc *incident.Incident) string {
	return "details in its private channel: ask " + b.QuietName(inc.Contact()) + " for access"
}
