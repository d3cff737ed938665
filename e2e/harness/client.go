package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// ExecuteCommand runs a slash command as u in a channel, as typing it in the
// client would. The team is always passed explicitly: in a DM or group
// channel the server cannot infer it.
func (s *Server) ExecuteCommand(ctx context.Context, u *User, channelID, command string) (*model.CommandResponse, error) {
	resp, _, err := u.Client.ExecuteCommandWithTeam(ctx, channelID, s.Team.Id, command)
	if err != nil {
		return nil, fmt.Errorf("execute %q as %s in channel %s: %w", command, u.Username, channelID, err)
	}
	return resp, nil
}

// ClickButton clicks an interactive message button as u. The server calls the
// plugin's action URL itself, with the Mattermost-User-Id header set. The
// returned trigger id is the client's and cannot open a dialog: only the one
// the plugin receives can.
func (s *Server) ClickButton(ctx context.Context, u *User, postID, actionID string) (*model.PostActionAPIResponse, error) {
	return s.doPostAction(ctx, u, postID, actionID, nil)
}

// SelectOption picks option in an interactive message menu as u.
func (s *Server) SelectOption(ctx context.Context, u *User, postID, actionID, option string) (*model.PostActionAPIResponse, error) {
	return s.doPostAction(ctx, u, postID, actionID, &model.DoPostActionRequest{SelectedOption: option})
}

func (s *Server) doPostAction(ctx context.Context, u *User, postID, actionID string, req *model.DoPostActionRequest) (*model.PostActionAPIResponse, error) {
	path := "/posts/" + postID + "/actions/" + actionID
	body := ""
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("encode post action: %w", err)
		}
		body = string(b)
	}
	r, err := u.Client.DoAPIPost(ctx, path, body)
	if err != nil {
		return nil, fmt.Errorf("post action %s on post %s as %s: %w", actionID, postID, u.Username, err)
	}
	defer r.Body.Close()
	var out model.PostActionAPIResponse
	if err := json.NewDecoder(r.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("post action %s on post %s as %s: decode response: %w", actionID, postID, u.Username, err)
	}
	return &out, nil
}

// SubmitDialog submits an interactive dialog as u. The server sets the user
// id itself. On 6.7.2 a submission to a route the plugin does not serve still
// answers 200 with an empty body, so assert on effects, not on a nil error.
func (s *Server) SubmitDialog(ctx context.Context, u *User, req model.SubmitDialogRequest) (*model.SubmitDialogResponse, error) {
	if req.TeamId == "" {
		req.TeamId = s.Team.Id
	}
	resp, _, err := u.Client.SubmitInteractiveDialog(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("submit dialog %q as %s: %w", req.CallbackId, u.Username, err)
	}
	return resp, nil
}

var channelNameInvalid = regexp.MustCompile(`[^a-z0-9_-]+`)

// NewChannel creates a channel in Team. Admin creates it, and so is a member;
// members are added after. name is the display name; the URL name is derived
// from it.
func (s *Server) NewChannel(ctx context.Context, name string, private bool, members ...*User) (*model.Channel, error) {
	typ := model.ChannelTypeOpen
	if private {
		typ = model.ChannelTypePrivate
	}
	slug := strings.Trim(channelNameInvalid.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(slug) < 2 {
		slug = "channel-" + slug
	}
	ch, _, err := s.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId:      s.Team.Id,
		Name:        slug,
		DisplayName: name,
		Type:        typ,
	})
	if err != nil {
		return nil, fmt.Errorf("create channel %q: %w", name, err)
	}
	for _, m := range members {
		if m.Id == s.Admin.Id {
			continue
		}
		if _, _, err := s.Admin.Client.AddChannelMember(ctx, ch.Id, m.Id); err != nil {
			return nil, fmt.Errorf("add %s to channel %q: %w", m.Username, name, err)
		}
	}
	return ch, nil
}

// DirectChannel returns the direct message channel between a and b, creating
// it as a.
func (s *Server) DirectChannel(ctx context.Context, a, b *User) (*model.Channel, error) {
	ch, _, err := a.Client.CreateDirectChannel(ctx, a.Id, b.Id)
	if err != nil {
		return nil, fmt.Errorf("direct channel %s-%s: %w", a.Username, b.Username, err)
	}
	return ch, nil
}

// Posts returns the latest posts (up to 200) of a channel as u sees them,
// oldest first.
func (s *Server) Posts(ctx context.Context, u *User, channelID string) ([]*model.Post, error) {
	list, _, err := u.Client.GetPostsForChannel(ctx, channelID, 0, 200, "", false, false)
	if err != nil {
		return nil, fmt.Errorf("posts of channel %s as %s: %w", channelID, u.Username, err)
	}
	posts := make([]*model.Post, 0, len(list.Order))
	for i := len(list.Order) - 1; i >= 0; i-- {
		posts = append(posts, list.Posts[list.Order[i]])
	}
	return posts, nil
}

// PostText is everything a post shows: its message and its attachments'
// texts and field values.
func PostText(p *model.Post) string {
	var b strings.Builder
	b.WriteString(p.Message)
	for _, a := range p.Attachments() {
		b.WriteString("\n" + a.Pretext + "\n" + a.Title + "\n" + a.Text)
		for _, f := range a.Fields {
			if s, ok := f.Value.(string); ok {
				b.WriteString("\n" + s)
			}
		}
	}
	return b.String()
}
