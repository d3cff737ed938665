package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

var _ app.OnDuty = (*Bot)(nil)

// PropHandleAnswer marks the bot's answers to on-duty handles.
const PropHandleAnswer = "handle_answer"

// boardMarker starts the header line the bot owns: an invisible
// character, so that the line can be found again and replaced while the
// admins' own header text stays as they wrote it.
const boardMarker = "\u2063"

// GroupSync reports whether the handles are kept as real user groups (see
// groups.go).
func (b *Bot) GroupSync() bool { return b.groups != nil && b.groups.enabled() }

// AnswerHandles answers a post that used handles, in its thread.
func (b *Bot) AnswerHandles(ctx context.Context, post app.HandlePost, answers []app.HandleAnswer, pages []app.HandlePage) error {
	inChannel := map[string]bool{}
	member := func(userID string) bool {
		in, ok := inChannel[userID]
		if !ok {
			_, appErr := b.api.GetChannelMember(post.ChannelID, userID)
			in = appErr == nil
			inChannel[userID] = in
		}
		return in
	}
	var lines []string
	outside := map[string][]string{} // user id -> handles that reach them
	var outsideOrder []string
	name := func(userID, handle string) string {
		if member(userID) {
			return b.mention(userID)
		}
		if _, seen := outside[userID]; !seen {
			outsideOrder = append(outsideOrder, userID)
		}
		outside[userID] = append(outside[userID], handle)
		return b.QuietName(userID) + " (not in this channel: told by direct message)"
	}
	for _, ans := range answers {
		lines = append(lines, b.answerLine(ans, name))
	}
	for _, pg := range pages {
		if pg.Err != nil {
			lines = append(lines, fmt.Sprintf(":warning: @%s%s !page: %s", zeroWidthSpace, pg.Target.Handle, Sanitize(incident.UserMessage(pg.Err))))
			continue
		}
		if pg.Page != nil {
			lines = append(lines, fmt.Sprintf(":rotating_light: @%s%s is paged (page %s): they must acknowledge it.", zeroWidthSpace, pg.Target.Handle, pg.Page.ID))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	reply := &model.Post{UserId: b.userID, ChannelId: post.ChannelID, RootId: post.Thread(), Message: strings.Join(lines, "\n")}
	reply.AddProp(PropHandleAnswer, true)
	if _, err := b.create(ctx, reply); err != nil {
		return fmt.Errorf("answer handles in post %s: %w", post.PostID, err)
	}
	var errs []error
	link := b.permalink(post)
	for _, u := range outsideOrder {
		handles := make([]string, 0, len(outside[u]))
		for _, h := range outside[u] {
			handles = append(handles, "@"+zeroWidthSpace+h)
		}
		msg := fmt.Sprintf("%s used %s, which reaches you (you are not in that channel): %s", b.QuietName(post.UserID), strings.Join(handles, ", "), link)
		if err := b.DirectMessage(ctx, u, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DirectMessage sends msg to userID from the bot.
func (b *Bot) DirectMessage(ctx context.Context, userID, msg string) error {
	ch, appErr := b.api.GetDirectChannel(b.userID, userID)
	if appErr != nil {
		return fmt.Errorf("direct channel with %s: %w", userID, appErr)
	}
	if _, err := b.post(ctx, ch.Id, msg, nil); err != nil {
		return fmt.Errorf("direct message to %s: %w", userID, err)
	}
	return nil
}

// permalink links to post: through its team when the channel has one,
// else through the server's redirect.
func (b *Bot) permalink(post app.HandlePost) string {
	site := ""
	if cfg := b.api.GetConfig(); cfg != nil && cfg.ServiceSettings.SiteURL != nil {
		site = strings.TrimSuffix(*cfg.ServiceSettings.SiteURL, "/")
	}
	if ch, appErr := b.api.GetChannel(post.ChannelID); appErr == nil && ch.TeamId != "" {
		if team, appErr := b.api.GetTeam(ch.TeamId); appErr == nil {
			return site + "/" + team.Name + "/pl/" + post.PostID
		}
	}
	return site + "/_redirect/pl/" + post.PostID
}

// answerLine renders one handle's answer, e.g. "@release-manager is @alice
// this week (covering for @bob, away)". name renders a person reached.
func (b *Bot) answerLine(ans app.HandleAnswer, name func(userID, handle string) string) string {
	h := "@" + zeroWidthSpace + ans.Target.Handle
	switch ans.Target.Kind {
	case alias.KindRole:
		if len(ans.People) == 0 {
			return h + ": nobody is on duty for " + strings.ToLower(ans.Target.Role.Title()) + " now (the rota is empty or everyone is away)."
		}
		p := ans.People[0]
		return h + " is " + name(p.UserID, ans.Target.Handle) + " this week" + b.why(p) + "."
	case alias.KindGroup:
		if len(ans.People) == 0 {
			return h + ": sign-off group " + ans.Target.Group + " has no members."
		}
		var names []string
		for _, p := range ans.People {
			names = append(names, name(p.UserID, ans.Target.Handle))
		}
		return h + " is sign-off group " + ans.Target.Group + ": " + strings.Join(names, ", ") + "."
	default:
		var parts []string
		for _, p := range ans.People {
			parts = append(parts, "**"+p.Role.Title()+"** "+name(p.UserID, ans.Target.Handle)+b.why(p))
		}
		for _, r := range ans.Open {
			parts = append(parts, "**"+r.Title()+"** nobody")
		}
		return h + " on duty now: " + strings.Join(parts, " · ") + "."
	}
}

// why says why p, not the rota's first choice, is on duty.
func (b *Bot) why(p app.OnDutyPerson) string {
	switch {
	case p.Reason == rota.ReasonAway && p.For != "":
		return " (covering for " + b.QuietName(p.For) + ", away)"
	case p.Reason == rota.ReasonDoubleDuty && p.For != "":
		return " (covering for " + b.QuietName(p.For) + ", who holds another role)"
	case p.Source == rota.SourceOverride && p.For != "":
		return " (took the shift of " + b.QuietName(p.For) + ")"
	case p.Source == rota.SourceOverride:
		return " (override)"
	case p.Source == rota.SourceSwap && p.For != "":
		return " (swapped with " + b.QuietName(p.For) + ")"
	}
	return ""
}

// ShowOnDuty puts who is on duty in the rota channel's header, on a line
// of its own that the bot owns, and syncs the handle groups when the
// server has them.
func (b *Bot) ShowOnDuty(ctx context.Context, board *app.Board) error {
	var errs []error
	if board.ChannelID != "" {
		if err := b.showHeader(board); err != nil {
			errs = append(errs, err)
		}
	}
	if b.GroupSync() {
		if err := b.groups.sync(board); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *Bot) showHeader(board *app.Board) error {
	ch, appErr := b.api.GetChannel(board.ChannelID)
	if appErr != nil {
		return fmt.Errorf("read rota channel %s: %w", board.ChannelID, appErr)
	}
	header := WithBoardLine(ch.Header, BoardLine(board, b.QuietName))
	if header == ch.Header {
		return nil
	}
	if len([]rune(header)) > model.ChannelHeaderMaxRunes {
		return fmt.Errorf("rota channel %s: the header has no room for who is on duty (%d characters at most)", board.ChannelID, model.ChannelHeaderMaxRunes)
	}
	ch.Header = header
	if _, appErr := b.api.UpdateChannel(ch); appErr != nil {
		return fmt.Errorf("update rota channel %s header: %w", board.ChannelID, appErr)
	}
	return nil
}

// boardCodes are the short role names of the header line.
var boardCodes = map[incident.Role]string{incident.RoleIM: "IM", incident.RoleL1: "L1", incident.RoleL2: "L2", incident.RoleL3: "L3", incident.RoleRM: "RM"}

// BoardLine renders the header line: "On duty: IM @a · L1 @b · ...", with
// names that notify nobody (quiet renders a user so).
func BoardLine(board *app.Board, quiet func(userID string) string) string {
	parts := make([]string, 0, len(incident.Roles))
	for _, r := range incident.Roles {
		who := "—"
		if u := board.Holders[r]; u != "" {
			who = quiet(u)
		}
		parts = append(parts, boardCodes[r]+" "+who)
	}
	return boardMarker + "On duty: " + strings.Join(parts, " · ")
}

// WithBoardLine returns header with its board line (the line starting with
// boardMarker) replaced by line, or line put first if it has none.
// Everything else in the header stays as it was.
func WithBoardLine(header, line string) string {
	lines := strings.Split(header, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, boardMarker) {
			lines[i] = line
			return strings.Join(lines, "\n")
		}
	}
	if strings.TrimSpace(header) == "" {
		return line
	}
	return line + "\n" + header
}
