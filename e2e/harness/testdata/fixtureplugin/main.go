// Command fixtureplugin is a minimal Mattermost plugin that lets the harness
// tests prove ClickButton and SubmitDialog against a real server without
// depending on the incident bot itself:
//
//   - /fixture posts a message with one button (action id "ack");
//   - clicking it opens a dialog with the trigger id the plugin receives and
//     updates the post to "acked by <user id>; dialog <result>";
//   - submitting the dialog posts "reason: <reason>" as the submitter, or
//     answers a field error when the reason is empty.
//
// It lives under testdata so that `go build ./...` and `go vet ./...` skip it.
package main

import (
	"encoding/json"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// id must match plugin.json, which the harness test writes into the bundle.
const id = "io.incidentbot.e2e-fixture"

type fixture struct {
	plugin.MattermostPlugin
}

func (p *fixture) OnActivate() error {
	return p.API.RegisterCommand(&model.Command{Trigger: "fixture", AutoComplete: true})
}

func route(path string) string {
	return "/plugins/" + id + path
}

func (p *fixture) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	post := &model.Post{UserId: args.UserId, ChannelId: args.ChannelId, Message: "fixture buttons"}
	model.ParseMessageAttachment(post, []*model.MessageAttachment{{
		Actions: []*model.PostAction{{
			Id:          "ack",
			Name:        "Ack",
			Type:        model.PostActionTypeButton,
			Integration: &model.PostActionIntegration{URL: route("/action")},
		}},
	}})
	if _, err := p.API.CreatePost(post); err != nil {
		return nil, err
	}
	return &model.CommandResponse{}, nil
}

func (p *fixture) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	userID := r.Header.Get("Mattermost-User-Id")
	switch r.URL.Path {
	case "/action":
		var req model.PostActionIntegrationRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		result := "opened"
		if err := p.API.OpenInteractiveDialog(model.OpenDialogRequest{
			TriggerId: req.TriggerId,
			URL:       route("/dialog"),
			Dialog: model.Dialog{
				CallbackId: "reason",
				Title:      "Reason",
				Elements:   []model.DialogElement{{DisplayName: "Reason", Name: "reason", Type: "text"}},
			},
		}); err != nil {
			result = "failed: " + err.Error()
		}
		writeJSON(w, model.PostActionIntegrationResponse{
			Update: &model.Post{Message: "acked by " + userID + "; dialog " + result},
		})
	case "/dialog":
		var req model.SubmitDialogRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reason, _ := req.Submission["reason"].(string)
		if reason == "" {
			writeJSON(w, model.SubmitDialogResponse{Errors: map[string]string{"reason": "required"}})
			return
		}
		if _, err := p.API.CreatePost(&model.Post{UserId: userID, ChannelId: req.ChannelId, Message: "reason: " + reason}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, model.SubmitDialogResponse{})
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	plugin.ClientMain(&fixture{})
}
