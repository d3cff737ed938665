package command

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// /incident heartbeat: dead man's switches (see app/heartbeat.go).

func heartbeatArgs(a *model.AutocompleteData) {
	for _, v := range []struct{ name, hint, help string }{
		{"add", "<name> --every 5m [--grace 2m] [--severity S2] [--rota <name>]", "Add a heartbeat and get its URL and token (admins)."},
		{"list", "", "Each heartbeat's last beat and state."},
		{"token", "<name>", "A new token for a heartbeat; the old one stops working (admins)."},
		{"remove", "<name>", "Remove a heartbeat (admins)."},
	} {
		a.AddCommand(model.NewAutocompleteData(v.name, v.hint, v.help))
	}
}

func runHeartbeat(ctx context.Context, h *Handler, c Call) (Reply, error) {
	verb, rest, _ := cutSpace(strings.TrimSpace(c.Rest))
	switch strings.ToLower(verb) {
	case "", "list":
		return heartbeatList(ctx, h)
	case "add":
		return heartbeatAdd(ctx, h, c, rest)
	case "token":
		name := strings.TrimSpace(rest)
		token, err := h.App.ResetHeartbeatToken(ctx, c.UserID, name)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: heartbeatHowTo(h, c, name, token, "New token for heartbeat `"+name+"`; the old one no longer works.")}, nil
	case "remove":
		name := strings.TrimSpace(rest)
		if err := h.App.RemoveHeartbeat(ctx, c.UserID, name); err != nil {
			return Reply{}, err
		}
		return Reply{Text: "Heartbeat `" + name + "` removed; its URL no longer answers."}, nil
	}
	return Reply{}, incident.Invalidf("unknown heartbeat command `%s`: use add, list, token or remove", mention.Inline(verb))
}

func heartbeatAdd(ctx context.Context, h *Handler, c Call, rest string) (Reply, error) {
	name, fl, unknown := flags(rest, "every", "grace", "severity", "rota")
	if unknown != "" {
		return Reply{}, incident.Invalidf("unknown option %s: use --every, --grace, --severity, --rota", mention.Inline(unknown))
	}
	spec := app.HeartbeatSpec{Name: strings.ToLower(strings.TrimSpace(name)), TeamID: c.TeamID, Rota: fl["rota"]}
	if strings.Contains(spec.Name, " ") {
		return Reply{}, incident.Invalidf("name the heartbeat with one word, such as `prometheus-watchdog`")
	}
	var err error
	if fl["every"] == "" {
		return Reply{}, incident.Invalidf("say how often it beats: --every 5m")
	}
	if spec.Every, err = time.ParseDuration(fl["every"]); err != nil {
		return Reply{}, incident.Invalidf("--every %s is not a duration such as 5m or 1h", mention.Inline(fl["every"]))
	}
	if g := fl["grace"]; g != "" {
		if spec.Grace, err = time.ParseDuration(g); err != nil {
			return Reply{}, incident.Invalidf("--grace %s is not a duration such as 2m", mention.Inline(g))
		}
	}
	if s := fl["severity"]; s != "" {
		if spec.Severity, err = incident.ParseSeverity(s); err != nil {
			return Reply{}, err
		}
	}
	hb, token, err := h.App.AddHeartbeat(ctx, c.UserID, spec)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: heartbeatHowTo(h, c, hb.Name, token, fmt.Sprintf("Heartbeat `%s` added: when no beat comes for %s (every %s, grace %s), it opens an %s incident in this team.",
		hb.Name, incident.FormatDuration(hb.Every+hb.Grace), incident.FormatDuration(hb.Every), incident.FormatDuration(hb.Grace), hb.Severity))}, nil
}

// heartbeatHowTo shows a heartbeat's URL and token (once: only its hash is
// kept), with a cron line and Alertmanager's Watchdog route.
func heartbeatHowTo(h *Handler, c Call, name, token, head string) string {
	url := wire.HeartbeatPath + name
	if h.PageURL != nil {
		url = h.PageURL(c.SiteURL, wire.HeartbeatPath+name)
	}
	return head + "\n\nURL: `" + url + "`\nToken (shown once): `" + token + "`\n\n" +
		"From cron, every 5 minutes:\n```\n*/5 * * * * curl -fsS -m 10 -H '" + wire.HeartbeatTokenHeader + ": " + token + "' " + url + "\n```\n" +
		"From Alertmanager, its always-firing Watchdog alert:\n```yaml\nroute:\n  routes:\n    - matchers: [alertname=\"Watchdog\"]\n      receiver: incident-heartbeat\n      repeat_interval: 1m\n" +
		"receivers:\n  - name: incident-heartbeat\n    webhook_configs:\n      - url: " + url + "\n        http_config:\n          authorization:\n            credentials: " + token + "\n```\n" +
		"(Servers before 9.4 drop the Authorization header on its way to plugins; send the token in " + wire.HeartbeatTokenHeader + " there, e.g. through a proxy.)"
}

func heartbeatList(ctx context.Context, h *Handler) (Reply, error) {
	list, err := h.App.Heartbeats(ctx)
	if err != nil {
		return Reply{}, err
	}
	if len(list) == 0 {
		return Reply{Text: "No heartbeats yet: `/incident heartbeat add <name> --every 5m` adds one."}, nil
	}
	now := time.Now()
	var b strings.Builder
	b.WriteString("#### Heartbeats\n| Heartbeat | Every / grace | Last beat | State | Opens |\n|---|---|---|---|---|\n")
	for _, hb := range list {
		last := "never"
		if !hb.LastBeat.IsZero() {
			last = incident.FormatDuration(now.Sub(hb.LastBeat).Round(time.Second)) + " ago"
		}
		state := ":large_green_circle: up, missed after " + hb.DueAt().UTC().Format(wire.TimeLayout)
		switch {
		case hb.Down():
			state = ":red_circle: **missed** since " + hb.DownSince.UTC().Format(wire.TimeLayout)
		case hb.LastBeat.IsZero():
			state = ":white_circle: waiting for its first beat (missed after " + hb.DueAt().UTC().Format(wire.TimeLayout) + ")"
		}
		opens := hb.Severity.String()
		if hb.Rota != "" {
			opens += ", rota " + hb.Rota
		}
		fmt.Fprintf(&b, "| `%s` | %s / %s | %s | %s | %s |\n", hb.Name, incident.FormatDuration(hb.Every), incident.FormatDuration(hb.Grace), last, state, opens)
	}
	return Reply{Text: b.String()}, nil
}
