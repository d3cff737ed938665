package main

// The plugin API calls that matter for load, counted per method for the
// usage route (api.UsagePath): what the plugin asks of the server is what
// the server pays for, and under load that, not the plugin's own CPU, is
// what slows everyone down. The wrapper only counts.

import (
	"sync/atomic"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// countedAPI is plugin.API with calls counted.
type countedAPI struct {
	plugin.API
	calls *apiCalls
}

// apiCalls counts calls per method.
type apiCalls struct {
	n [28]atomic.Int64
}

var apiCallNames = [...]string{"AddChannelMember", "AddUserToChannel", "CreateChannel", "CreatePost", "CreateTeamMember", "GetChannel", "GetChannelMember", "GetDirectChannel", "GetPost", "GetPostsSince", "GetTeam", "GetTeamMember", "GetUser", "HasPermissionTo", "HasPermissionToChannel", "HasPermissionToTeam", "KVDelete", "KVGet", "KVList", "KVSetWithOptions", "LogDebug", "LogError", "LogInfo", "LogWarn", "OpenInteractiveDialog", "SendEphemeralPost", "UpdateEphemeralPost", "UpdatePost"}

// snapshot returns the counts by method name.
func (c *apiCalls) snapshot() map[string]int64 {
	out := make(map[string]int64, len(apiCallNames))
	for i, name := range apiCallNames {
		if v := c.n[i].Load(); v > 0 {
			out[name] = v
		}
	}
	return out
}

func (c countedAPI) AddChannelMember(channelId string, userID string) (*model.ChannelMember, *model.AppError) {
	c.calls.n[0].Add(1)
	return c.API.AddChannelMember(channelId, userID)
}

func (c countedAPI) AddUserToChannel(channelId string, userID string, asUserId string) (*model.ChannelMember, *model.AppError) {
	c.calls.n[1].Add(1)
	return c.API.AddUserToChannel(channelId, userID, asUserId)
}

func (c countedAPI) CreateChannel(channel *model.Channel) (*model.Channel, *model.AppError) {
	c.calls.n[2].Add(1)
	return c.API.CreateChannel(channel)
}

func (c countedAPI) CreatePost(post *model.Post) (*model.Post, *model.AppError) {
	c.calls.n[3].Add(1)
	return c.API.CreatePost(post)
}

func (c countedAPI) CreateTeamMember(teamID string, userID string) (*model.TeamMember, *model.AppError) {
	c.calls.n[4].Add(1)
	return c.API.CreateTeamMember(teamID, userID)
}

func (c countedAPI) GetChannel(channelId string) (*model.Channel, *model.AppError) {
	c.calls.n[5].Add(1)
	return c.API.GetChannel(channelId)
}

func (c countedAPI) GetChannelMember(channelId string, userID string) (*model.ChannelMember, *model.AppError) {
	c.calls.n[6].Add(1)
	return c.API.GetChannelMember(channelId, userID)
}

func (c countedAPI) GetDirectChannel(userId1 string, userId2 string) (*model.Channel, *model.AppError) {
	c.calls.n[7].Add(1)
	return c.API.GetDirectChannel(userId1, userId2)
}

func (c countedAPI) GetPost(postId string) (*model.Post, *model.AppError) {
	c.calls.n[8].Add(1)
	return c.API.GetPost(postId)
}

func (c countedAPI) GetPostsSince(channelId string, time int64) (*model.PostList, *model.AppError) {
	c.calls.n[9].Add(1)
	return c.API.GetPostsSince(channelId, time)
}

func (c countedAPI) GetTeam(teamID string) (*model.Team, *model.AppError) {
	c.calls.n[10].Add(1)
	return c.API.GetTeam(teamID)
}

func (c countedAPI) GetTeamMember(teamID string, userID string) (*model.TeamMember, *model.AppError) {
	c.calls.n[11].Add(1)
	return c.API.GetTeamMember(teamID, userID)
}

func (c countedAPI) GetUser(userID string) (*model.User, *model.AppError) {
	c.calls.n[12].Add(1)
	return c.API.GetUser(userID)
}

func (c countedAPI) HasPermissionTo(userID string, permission *model.Permission) bool {
	c.calls.n[13].Add(1)
	return c.API.HasPermissionTo(userID, permission)
}

func (c countedAPI) HasPermissionToChannel(userID string, channelId string, permission *model.Permission) bool {
	c.calls.n[14].Add(1)
	return c.API.HasPermissionToChannel(userID, channelId, permission)
}

func (c countedAPI) HasPermissionToTeam(userID string, teamID string, permission *model.Permission) bool {
	c.calls.n[15].Add(1)
	return c.API.HasPermissionToTeam(userID, teamID, permission)
}

func (c countedAPI) KVDelete(key string) *model.AppError {
	c.calls.n[16].Add(1)
	return c.API.KVDelete(key)
}

func (c countedAPI) KVGet(key string) ([]byte, *model.AppError) {
	c.calls.n[17].Add(1)
	return c.API.KVGet(key)
}

func (c countedAPI) KVList(page int, perPage int) ([]string, *model.AppError) {
	c.calls.n[18].Add(1)
	return c.API.KVList(page, perPage)
}

func (c countedAPI) KVSetWithOptions(key string, value []byte, options model.PluginKVSetOptions) (bool, *model.AppError) {
	c.calls.n[19].Add(1)
	return c.API.KVSetWithOptions(key, value, options)
}

func (c countedAPI) LogDebug(msg string, keyValuePairs ...any) {
	c.calls.n[20].Add(1)
	c.API.LogDebug(msg, keyValuePairs...)
}

func (c countedAPI) LogError(msg string, keyValuePairs ...any) {
	c.calls.n[21].Add(1)
	c.API.LogError(msg, keyValuePairs...)
}

func (c countedAPI) LogInfo(msg string, keyValuePairs ...any) {
	c.calls.n[22].Add(1)
	c.API.LogInfo(msg, keyValuePairs...)
}

func (c countedAPI) LogWarn(msg string, keyValuePairs ...any) {
	c.calls.n[23].Add(1)
	c.API.LogWarn(msg, keyValuePairs...)
}

func (c countedAPI) OpenInteractiveDialog(dialog model.OpenDialogRequest) *model.AppError {
	c.calls.n[24].Add(1)
	return c.API.OpenInteractiveDialog(dialog)
}

func (c countedAPI) SendEphemeralPost(userID string, post *model.Post) *model.Post {
	c.calls.n[25].Add(1)
	return c.API.SendEphemeralPost(userID, post)
}

func (c countedAPI) UpdateEphemeralPost(userID string, post *model.Post) *model.Post {
	c.calls.n[26].Add(1)
	return c.API.UpdateEphemeralPost(userID, post)
}

func (c countedAPI) UpdatePost(post *model.Post) (*model.Post, *model.AppError) {
	c.calls.n[27].Add(1)
	return c.API.UpdatePost(post)
}
