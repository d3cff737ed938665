package command

import (
	"context"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
)

// /incident notify: how else the bot reaches you when you are paged.

func notifyArgs(a *model.AutocompleteData) {
	email := model.NewAutocompleteData("email", "on|off", "Pages also by email, to your Mattermost address.")
	email.AddStaticListArgument("", true, []model.AutocompleteListItem{{Item: "on"}, {Item: "off"}})
	a.AddCommand(email)
	a.AddCommand(model.NewAutocompleteData("webhook", "<url>|off", "Pages also to a webhook: your organisation's SMS or phone gateway."))
}

func runNotify(ctx context.Context, h *Handler, c Call) (Reply, error) {
	way, arg, _ := cutSpace(strings.TrimSpace(c.Rest))
	arg = strings.TrimSpace(arg)
	switch strings.ToLower(way) {
	case "":
		p, err := h.App.ReachOf(ctx, c.UserID)
		if err != nil {
			return Reply{}, err
		}
		email, hook := "off", "off"
		if p.Email {
			email = "on (your Mattermost email address)"
		}
		if p.Webhook != "" {
			hook = "`" + mention.Inline(p.Webhook) + "`"
		}
		return Reply{Text: "When you are paged, besides the chat:\n- email: " + email + "\n- webhook: " + hook +
			"\n\nEach rota's escalation policy says when pages go out these ways (`/incident rota escalation`)."}, nil
	case "email":
		on, err := onOff(arg)
		if err != nil {
			return Reply{}, err
		}
		if err := h.App.SetReachEmail(ctx, c.UserID, on); err != nil {
			return Reply{}, err
		}
		if on {
			return Reply{Text: "Your pages also go to your Mattermost email address, with a link that acknowledges them."}, nil
		}
		return Reply{Text: "No more pages by email."}, nil
	case "webhook":
		url := arg
		if strings.EqualFold(arg, "off") {
			url = ""
		} else if arg == "" {
			return Reply{}, incident.Invalidf("give the gateway's URL, or off")
		}
		secret, err := h.App.SetReachWebhook(ctx, c.UserID, url)
		if err != nil {
			return Reply{}, err
		}
		if url == "" {
			return Reply{Text: "No more pages to a webhook."}, nil
		}
		return Reply{Text: "Your pages also go to `" + mention.Inline(url) + "` as JSON (see the README, \"Pages beyond the chat\").\n" +
			"Signing secret (shown once): `" + secret + "`\nEach request carries `X-Incident-Signature: sha256=<hex HMAC-SHA256 of \"<X-Incident-Timestamp>.<body>\">`; check it before trusting the body."}, nil
	}
	return Reply{}, incident.Invalidf("unknown way `%s`: use email or webhook", mention.Inline(way))
}

func onOff(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, incident.Invalidf("say on or off")
}
