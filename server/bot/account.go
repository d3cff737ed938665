// Package bot is the plugin's voice in Mattermost: its bot account, the
// incident card and its buttons, dialogs, announcements, channels, and the
// log writer that routes zerolog into the server log. It implements the
// app package's Chat, Notifier and Access ports.
package bot

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/pluginapi"
)

// Account describes the bot user.
var Account = model.Bot{
	Username:    "incident",
	DisplayName: "Incident Bot",
	Description: "Runs incidents: channels, cards, rota paging, status updates and postmortems.",
}

// iconPath is the bot's profile picture inside the bundle; servers reject
// SVG profile images, so it is a PNG.
const iconPath = "assets/bot.png"

// EnsureAccount finds or creates the bot user and returns its id. On servers
// from 7.1 it uses EnsureBotUser; older servers lack that call (it fails
// silently there, returning an empty id), so it finds the bot by username
// or creates it.
func EnsureAccount(api plugin.API, client *pluginapi.Client) (string, error) {
	id, err := ensure(api, client)
	if err != nil {
		return "", err
	}
	if img, err := os.ReadFile(filepath.Join(bundlePath(api), iconPath)); err == nil {
		if appErr := api.SetProfileImage(id, img); appErr != nil {
			return id, fmt.Errorf("set bot profile image: %w", appErr)
		}
	}
	return id, nil
}

func ensure(api plugin.API, client *pluginapi.Client) (string, error) {
	if atLeast(api.GetServerVersion(), 7, 1) {
		b := Account // EnsureBot may write to its argument; keep the template pristine
		id, err := client.Bot.EnsureBot(&b)
		if err != nil {
			return "", fmt.Errorf("ensure bot: %w", err)
		}
		if id != "" {
			return id, nil
		}
	}
	user, appErr := api.GetUserByUsername(Account.Username)
	if appErr == nil {
		if !user.IsBot {
			return "", fmt.Errorf("ensure bot: the username @%s belongs to a person; rename that account so the bot can use it", Account.Username)
		}
		if _, appErr := api.GetBot(user.Id, true); appErr != nil {
			return "", fmt.Errorf("ensure bot: get bot @%s: %w", Account.Username, appErr)
		}
		// A bot disabled by an admin would silently fail to post; bring it back.
		if _, appErr := api.UpdateBotActive(user.Id, true); appErr != nil {
			return "", fmt.Errorf("ensure bot: reactivate @%s: %w", Account.Username, appErr)
		}
		return user.Id, nil
	}
	if appErr.StatusCode != 404 {
		return "", fmt.Errorf("ensure bot: look up @%s: %w", Account.Username, appErr)
	}
	b := Account
	created, appErr := api.CreateBot(&b)
	if appErr != nil {
		return "", fmt.Errorf("ensure bot: create @%s: %w", Account.Username, appErr)
	}
	return created.UserId, nil
}

func bundlePath(api plugin.API) string {
	p, err := api.GetBundlePath()
	if err != nil {
		return "."
	}
	return p
}

// atLeast reports whether a "major.minor.patch" version is at least
// major.minor. An unparsable version counts as old, the safe side.
func atLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
