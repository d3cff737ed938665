package main

// The plugin API calls that matter for load, counted per method for the
// usage route (api.UsagePath): what the plugin asks of the server is what
// the server pays for, and under load that, not the plugin's own CPU, is
// what slows everyone down. The wrapper only counts.

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/api"
)

// countedAPI is plugin.API with calls counted.
type countedAPI struct {
	plugin.API
	calls *apiCalls
}

// apiCalls counts calls per method, and the time they took.
type apiCalls struct {
	n  [28]atomic.Int64
	ns [28]atomic.Int64

	handlers sync.Map // entry point name -> *handlerTime
}

// done counts a call of method i that began at start.
func (c *apiCalls) done(i int, start time.Time) {
	c.n[i].Add(1)
	c.ns[i].Add(int64(time.Since(start)))
}

// lost counts a compare-and-set of key that lost to another writer, by
// the key's first three segments: where writers contend.
func (c *apiCalls) lost(key string) {
	parts := strings.SplitN(key, "/", 4)
	c.served("KVSetWithOptions lost "+strings.Join(parts[:min(len(parts), 3)], "/"), time.Now())
}

// handlerTime is how often an entry point of the plugin ran and for how
// long in all: with the client's figures, it splits a slow answer into the
// plugin's part and the server's.
type handlerTime struct{ n, ns atomic.Int64 }

// served counts a run of the entry point name that began at start.
func (c *apiCalls) served(name string, start time.Time) {
	v, ok := c.handlers.Load(name)
	if !ok {
		v, _ = c.handlers.LoadOrStore(name, &handlerTime{})
	}
	h := v.(*handlerTime)
	h.n.Add(1)
	h.ns.Add(int64(time.Since(start)))
}

var apiCallNames = [...]string{"AddChannelMember", "AddUserToChannel", "CreateChannel", "CreatePost", "CreateTeamMember", "GetChannel", "GetChannelMember", "GetDirectChannel", "GetPost", "GetPostsSince", "GetTeam", "GetTeamMember", "GetUser", "HasPermissionTo", "HasPermissionToChannel", "HasPermissionToTeam", "KVDelete", "KVGet", "KVList", "KVSetWithOptions", "LogDebug", "LogError", "LogInfo", "LogWarn", "OpenInteractiveDialog", "SendEphemeralPost", "UpdateEphemeralPost", "UpdatePost"}

// snapshot returns the calls by method name, and the runs of the entry
// points by name.
func (c *apiCalls) snapshot() (calls, handlers map[string]api.Timed) {
	calls = make(map[string]api.Timed, len(apiCallNames))
	for i, name := range apiCallNames {
		if v := c.n[i].Load(); v > 0 {
			calls[name] = api.Timed{N: v, Seconds: time.Duration(c.ns[i].Load()).Seconds()}
		}
	}
	handlers = map[string]api.Timed{}
	c.handlers.Range(func(k, v any) bool {
		h := v.(*handlerTime)
		handlers[k.(string)] = api.Timed{N: h.n.Load(), Seconds: time.Duration(h.ns.Load()).Seconds()}
		return true
	})
	return calls, handlers
}

func (c countedAPI) AddChannelMember(channelId string, userID string) (*model.ChannelMember, *model.AppError) {
	defer c.calls.done(0, time.Now())
	return c.API.AddChannelMember(channelId, userID)
}

func (c countedAPI) AddUserToChannel(channelId string, userID string, asUserId string) (*model.ChannelMember, *model.AppError) {
	defer c.calls.done(1, time.Now())
	return c.API.AddUserToChannel(channelId, userID, asUserId)
}

func (c countedAPI) CreateChannel(channel *model.Channel) (*model.Channel, *model.AppError) {
	defer c.calls.done(2, time.Now())
	return c.API.CreateChannel(channel)
}

func (c countedAPI) CreatePost(post *model.Post) (*model.Post, *model.AppError) {
	defer c.calls.done(3, time.Now())
	return c.API.CreatePost(post)
}

func (c countedAPI) CreateTeamMember(teamID string, userID string) (*model.TeamMember, *model.AppError) {
	defer c.calls.done(4, time.Now())
	return c.API.CreateTeamMember(teamID, userID)
}

func (c countedAPI) GetChannel(channelId string) (*model.Channel, *model.AppError) {
	defer c.calls.done(5, time.Now())
	return c.API.GetChannel(channelId)
}

func (c countedAPI) GetChannelMember(channelId string, userID string) (*model.ChannelMember, *model.AppError) {
	defer c.calls.done(6, time.Now())
	return c.API.GetChannelMember(channelId, userID)
}

func (c countedAPI) GetDirectChannel(userId1 string, userId2 string) (*model.Channel, *model.AppError) {
	defer c.calls.done(7, time.Now())
	return c.API.GetDirectChannel(userId1, userId2)
}

func (c countedAPI) GetPost(postId string) (*model.Post, *model.AppError) {
	defer c.calls.done(8, time.Now())
	return c.API.GetPost(postId)
}

func (c countedAPI) GetPostsSince(channelId string, since int64) (*model.PostList, *model.AppError) {
	defer c.calls.done(9, time.Now())
	return c.API.GetPostsSince(channelId, since)
}

func (c countedAPI) GetTeam(teamID string) (*model.Team, *model.AppError) {
	defer c.calls.done(10, time.Now())
	return c.API.GetTeam(teamID)
}

func (c countedAPI) GetTeamMember(teamID string, userID string) (*model.TeamMember, *model.AppError) {
	defer c.calls.done(11, time.Now())
	return c.API.GetTeamMember(teamID, userID)
}

func (c countedAPI) GetUser(userID string) (*model.User, *model.AppError) {
	defer c.calls.done(12, time.Now())
	return c.API.GetUser(userID)
}

func (c countedAPI) HasPermissionTo(userID string, permission *model.Permission) bool {
	defer c.calls.done(13, time.Now())
	return c.API.HasPermissionTo(userID, permission)
}

func (c countedAPI) HasPermissionToChannel(userID string, channelId string, permission *model.Permission) bool {
	defer c.calls.done(14, time.Now())
	return c.API.HasPermissionToChannel(userID, channelId, permission)
}

func (c countedAPI) HasPermissionToTeam(userID string, teamID string, permission *model.Permission) bool {
	defer c.calls.done(15, time.Now())
	return c.API.HasPermissionToTeam(userID, teamID, permission)
}

func (c countedAPI) KVDelete(key string) *model.AppError {
	defer c.calls.done(16, time.Now())
	return c.API.KVDelete(key)
}

func (c countedAPI) KVGet(key string) ([]byte, *model.AppError) {
	defer c.calls.done(17, time.Now())
	return c.API.KVGet(key)
}

func (c countedAPI) KVList(page int, perPage int) ([]string, *model.AppError) {
	defer c.calls.done(18, time.Now())
	return c.API.KVList(page, perPage)
}

func (c countedAPI) KVSetWithOptions(key string, value []byte, options model.PluginKVSetOptions) (bool, *model.AppError) {
	defer c.calls.done(19, time.Now())
	ok, appErr := c.API.KVSetWithOptions(key, value, options)
	if !ok && appErr == nil && options.Atomic {
		c.calls.lost(key)
	}
	return ok, appErr
}

func (c countedAPI) LogDebug(msg string, keyValuePairs ...any) {
	defer c.calls.done(20, time.Now())
	c.API.LogDebug(msg, keyValuePairs...)
}

func (c countedAPI) LogError(msg string, keyValuePairs ...any) {
	defer c.calls.done(21, time.Now())
	c.API.LogError(msg, keyValuePairs...)
}

func (c countedAPI) LogInfo(msg string, keyValuePairs ...any) {
	defer c.calls.done(22, time.Now())
	c.API.LogInfo(msg, keyValuePairs...)
}

func (c countedAPI) LogWarn(msg string, keyValuePairs ...any) {
	defer c.calls.done(23, time.Now())
	c.API.LogWarn(msg, keyValuePairs...)
}

func (c countedAPI) OpenInteractiveDialog(dialog model.OpenDialogRequest) *model.AppError {
	defer c.calls.done(24, time.Now())
	return c.API.OpenInteractiveDialog(dialog)
}

func (c countedAPI) SendEphemeralPost(userID string, post *model.Post) *model.Post {
	defer c.calls.done(25, time.Now())
	return c.API.SendEphemeralPost(userID, post)
}

func (c countedAPI) UpdateEphemeralPost(userID string, post *model.Post) *model.Post {
	defer c.calls.done(26, time.Now())
	return c.API.UpdateEphemeralPost(userID, post)
}

func (c countedAPI) UpdatePost(post *model.Post) (*model.Post, *model.AppError) {
	defer c.calls.done(27, time.Now())
	return c.API.UpdatePost(post)
}
