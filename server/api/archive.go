package api

import (
	"net/http"
	"path"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// serveArchiveAction handles Import and Cancel under an archive preview.
func (a *API) serveArchiveAction(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	action := path.Base(r.URL.Path)
	msg, err := a.Archives.ArchiveAction(r.Context(), actor, req.PostId, action)
	if err != nil {
		a.logInternal(r.Context(), err, "archive "+action, actor)
		msg = incident.UserMessage(err)
	}
	a.writeReply(w, a.Render(msg))
}
