package bot

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Handle groups: on servers whose plugin API can create and fill user
// groups (Mattermost 10.7 and later: CreateGroup, UpsertGroupMembers,
// DeleteGroupMember), each handle is a real group, sourced from this
// plugin, whose members the bot keeps equal to who is on duty; the server
// then notifies them itself, on every client. Older servers, such as
// 6.7.2, have no such calls (a call would fail silently over RPC), so the
// bot answers handles in threads instead.

// groupsMinVersion is the first server version whose plugin API manages
// groups ("Minimum server version: 10.7" in server/public plugin/api.go).
var groupsMinVersion = [2]int{10, 7}

// GroupsSupported reports whether a server of version (as
// API.GetServerVersion returns it, e.g. "6.7.2") lets plugins manage user
// groups. An unreadable version counts as too old.
func GroupsSupported(version string) bool {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(version), "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.SplitN(parts[1], "-", 2)[0])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > groupsMinVersion[0] || major == groupsMinVersion[0] && minor >= groupsMinVersion[1]
}

// groupSync keeps the handle groups.
type groupSync struct {
	b *Bot
	// failed is set when the server refused to manage groups (for example
	// without the licence custom groups need): handles are answered by
	// the bot from then on.
	failed atomic.Bool
}

func (g *groupSync) enabled() bool { return !g.failed.Load() }

// EnableGroupSync turns handle groups on if the server of version supports
// them, and returns the mode in force: "groups" or "answers".
func (b *Bot) EnableGroupSync(version string) string {
	if !GroupsSupported(version) {
		b.groups = nil
		return "answers"
	}
	b.groups = &groupSync{b: b}
	return "groups"
}

// source is the group source of this plugin's groups.
func (g *groupSync) source() model.GroupSource {
	return model.GroupSource(string(model.GroupSourcePluginPrefix) + g.b.pluginID)
}

// sync makes each handle's group hold exactly the people it reaches.
func (g *groupSync) sync(board *app.Board) error {
	want := map[string][]string{}
	for _, r := range incident.Roles {
		if h := board.Handles.Roles[r]; h != "" {
			want[h] = nil
			if u := board.Holders[r]; u != "" {
				want[h] = []string{u}
			}
		}
	}
	if h := board.Handles.Rota; h != "" {
		var all []string
		for _, r := range incident.Roles {
			if u := board.Holders[r]; u != "" && !slices.Contains(all, u) {
				all = append(all, u)
			}
		}
		want[h] = all
	}
	for h, members := range board.Groups {
		want[h] = members
	}
	var errs []error
	for h, members := range want {
		if err := g.syncOne(h, members); err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		g.failed.Store(true)
	}
	return err
}

func (g *groupSync) syncOne(handle string, members []string) error {
	api := g.b.api
	grp, appErr := api.GetGroupByName(handle)
	if appErr != nil || grp == nil || grp.Id == "" {
		name, remote := handle, handle
		grp, appErr = api.CreateGroup(&model.Group{Name: &name, DisplayName: "On duty: " + handle, Source: g.source(), RemoteId: &remote, AllowReference: true})
		if appErr != nil || grp == nil || grp.Id == "" {
			return fmt.Errorf("create group @%s: %v", handle, appErr)
		}
	}
	if !strings.HasPrefix(string(grp.Source), string(model.GroupSourcePluginPrefix)) {
		return fmt.Errorf("group @%s exists and is not the bot's: rename it or change the handle", handle)
	}
	have, appErr := api.GetGroupMemberUsers(grp.Id, 0, 200)
	if appErr != nil {
		return fmt.Errorf("read group @%s: %w", handle, appErr)
	}
	var add []string
	for _, u := range members {
		if !slices.ContainsFunc(have, func(x *model.User) bool { return x.Id == u }) {
			add = append(add, u)
		}
	}
	if len(add) > 0 {
		if _, appErr := api.UpsertGroupMembers(grp.Id, add); appErr != nil {
			return fmt.Errorf("add to group @%s: %w", handle, appErr)
		}
	}
	for _, u := range have {
		if !slices.Contains(members, u.Id) {
			if _, appErr := api.DeleteGroupMember(grp.Id, u.Id); appErr != nil {
				return fmt.Errorf("remove from group @%s: %w", handle, appErr)
			}
		}
	}
	return nil
}
