package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// ChannelPrefix starts every incident channel's name.
const ChannelPrefix = incident.ChannelPrefix

// CreateIncidentChannel creates the incident's own channel, named from the
// incident id and title ("incident-k3x9qd-db-latency").
func (b *Bot) CreateIncidentChannel(_ context.Context, inc *incident.Incident, private bool) (string, error) {
	typ := model.ChannelTypeOpen
	if private {
		typ = model.ChannelTypePrivate
	}
	ch, appErr := b.api.CreateChannel(&model.Channel{
		TeamId:      inc.TeamID,
		Type:        typ,
		Name:        ChannelName(inc.ID, inc.Title),
		DisplayName: truncateRunes(fmt.Sprintf("Incident %s: %s", inc.ID, inc.Title), model.ChannelDisplayNameMaxRunes),
		Purpose:     truncateRunes(Sanitize(inc.Title), model.ChannelPurposeMaxRunes),
		CreatorId:   b.userID,
	})
	if appErr != nil {
		if strings.Contains(appErr.Id, "exists") {
			return "", &incident.Error{Kind: incident.KindConflict, Msg: "channel name taken", Err: appErr}
		}
		return "", fmt.Errorf("create channel: %w", appErr)
	}
	b.rememberChannel(ch)
	return ch.Id, nil
}

// ChannelName builds a valid, unique-by-id channel name: lower-case ASCII
// letters, digits and dashes, at most 64 characters.
func ChannelName(id, title string) string {
	var slug strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			slug.WriteRune(r)
			dash = false
		} else if !dash && slug.Len() > 0 {
			slug.WriteByte('-')
			dash = true
		}
	}
	name := ChannelPrefix + "-" + id
	if s := strings.Trim(slug.String(), "-"); s != "" {
		name += "-" + s
	}
	if len(name) > model.ChannelNameMaxLength {
		name = strings.TrimRight(name[:model.ChannelNameMaxLength], "-")
	}
	return name
}

func truncateRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// ArchiveChannel archives a channel (used to undo a half-made start).
func (b *Bot) ArchiveChannel(_ context.Context, channelID string) error {
	if appErr := b.api.DeleteChannel(channelID); appErr != nil {
		return fmt.Errorf("archive channel %s: %w", channelID, appErr)
	}
	return nil
}

// AddToChannel adds a user to a channel; already being a member is fine.
// Someone outside the channel's team joins the team first, when the server
// lets them (see addToChannel).
func (b *Bot) AddToChannel(ctx context.Context, channelID, userID string) error {
	return b.addToChannel(ctx, channelID, userID)
}

// PostCard posts the incident card.
func (b *Bot) PostCard(ctx context.Context, inc *incident.Incident) (string, string, error) {
	p := b.cardPost(inc)
	p.Id = ""
	created, appErr := b.create(ctx, p)
	if appErr != nil {
		return "", "", fmt.Errorf("post incident card: %w", appErr)
	}
	// What the post shows as stored: a retried step gets the card an
	// earlier attempt posted, which shows the incident as it was then.
	return created.Id, shows(created), nil
}

// UpdateCard re-renders the card in place, unless it shows that already
// (shown, see shows).
func (b *Bot) UpdateCard(ctx context.Context, inc *incident.Incident, shown string) (string, error) {
	if inc.CardPostID == "" {
		return shown, nil
	}
	p := b.cardPost(inc)
	now := shows(p)
	if now == shown {
		return shown, nil
	}
	if _, appErr := b.update(ctx, p); appErr != nil {
		return shown, fmt.Errorf("update incident card %s: %w", inc.CardPostID, appErr)
	}
	return now, nil
}

// shows fingerprints what post p shows: its message and props (the
// attachments, with their fields and buttons), not its id.
func shows(p *model.Post) string {
	raw, _ := json.Marshal(struct {
		M string
		P model.StringInterface
	}{p.Message, p.GetProps()})
	h := fnv.New64a()
	h.Write(raw)
	return strconv.FormatUint(h.Sum64(), 36)
}

// DeletePost deletes a post by the bot.
func (b *Bot) DeletePost(_ context.Context, postID string) error {
	if appErr := b.api.DeletePost(postID); appErr != nil {
		return fmt.Errorf("delete post %s: %w", postID, appErr)
	}
	return nil
}
