package browser_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// The incidents every test reads, started through the REST API by
// setUp: resolved is public, acknowledged by the first line and resolved;
// open is public and open; private is private, and outsider is in none
// of its channels.
var (
	member, firstLine, outsider *harness.User
	resolved, openInc, private  incidentRef
)

type incidentRef struct{ ID, Title string }

// base is the plugin's root as a browser reaches it.
func base() string { return srv.URL + "/plugins/" + pluginID }

var startedRe = regexp.MustCompile(`Incident #([a-z0-9]+) started`)

func setUp(ctx context.Context) error {
	firstLine, member, outsider = srv.Users[0], srv.Users[1], srv.Users[2]
	settings := map[string]any{"UpdateCadence": "S1=off, S2=off, S3=off, S4=off"}
	if err := srv.PatchPluginConfig(ctx, pluginID, settings); err != nil {
		return err
	}
	rotaCh, err := srv.NewChannel(ctx, "rota", false, firstLine, member)
	if err != nil {
		return err
	}
	for _, c := range []string{"/incident rota set l1 @" + firstLine.Username, "/incident rota channel"} {
		if _, err := srv.ExecuteCommand(ctx, srv.Admin, rotaCh.Id, c); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
	}
	bot, _, err := srv.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil {
		return fmt.Errorf("find bot user: %w", err)
	}

	if resolved, err = startIncident(ctx, member, "Checkout is down", "S2"); err != nil {
		return err
	}
	// The first line acknowledges the page a moment later, so the time to
	// acknowledge is a real figure.
	page, err := waitPage(ctx, bot.Id, rotaCh.Id, resolved.ID)
	if err != nil {
		return err
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := srv.ClickButton(ctx, firstLine, page.Id, "ackpage"); err != nil {
		return fmt.Errorf("acknowledge the page: %w", err)
	}
	if err := waitPostContains(ctx, firstLine, page.Id, "Acknowledged by"); err != nil {
		return err
	}
	for _, c := range []string{"/incident mitigate #" + resolved.ID, "/incident resolve #" + resolved.ID + " Rolled back the release"} {
		if _, err := srv.ExecuteCommand(ctx, member, srv.TownSquare.Id, c); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
	}
	if openInc, err = startIncident(ctx, member, "Search is slow", "S3"); err != nil {
		return err
	}

	settings["PrivateChannels"] = true
	if err := srv.PatchPluginConfig(ctx, pluginID, settings); err != nil {
		return err
	}
	private, err = startIncident(ctx, member, "Payroll export leaks salaries", "S3")
	delete(settings, "PrivateChannels")
	if err2 := srv.PatchPluginConfig(ctx, pluginID, settings); err == nil {
		err = err2
	}
	return err
}

func startIncident(ctx context.Context, u *harness.User, title, severity string) (incidentRef, error) {
	resp, err := srv.ExecuteCommand(ctx, u, srv.TownSquare.Id, "/incident start "+title+" --severity "+severity)
	if err != nil {
		return incidentRef{}, fmt.Errorf("start %q: %w", title, err)
	}
	m := startedRe.FindStringSubmatch(resp.Text)
	if m == nil {
		return incidentRef{}, fmt.Errorf("start %q: reply %q", title, resp.Text)
	}
	return incidentRef{ID: m[1], Title: title}, nil
}

// waitPage finds the bot's page post for incident id in channelID.
func waitPage(ctx context.Context, botID, channelID, id string) (*model.Post, error) {
	var found *model.Post
	err := poll(ctx, 15*time.Second, func() (bool, error) {
		posts, err := srv.Posts(ctx, firstLine, channelID)
		for _, p := range posts {
			if pid, _ := p.GetProp("page_id").(string); pid != "" && p.UserId == botID && p.RootId == "" &&
				strings.Contains(harness.PostText(p), "#"+id) {
				found = p
			}
		}
		return found != nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("page post for incident %s: %w", id, err)
	}
	return found, nil
}

func waitPostContains(ctx context.Context, u *harness.User, postID, want string) error {
	return poll(ctx, 15*time.Second, func() (bool, error) {
		p, _, err := u.Client.GetPost(ctx, postID, "")
		return err == nil && strings.Contains(harness.PostText(p), want), nil
	})
}

func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s (last error: %v)", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// get fetches a plugin route with u's token (the server sets
// Mattermost-User-Id from it) and returns the status and body.
func get(ctx context.Context, u *harness.User, path string) (int, string, error) {
	return request(ctx, http.MethodGet, u, path)
}

// request is get with another method.
func request(ctx context.Context, method string, u *harness.User, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, base()+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+u.Client.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
