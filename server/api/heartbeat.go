package api

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// serveBeat records a heartbeat's beat. Monitoring has no session: the
// heartbeat's token authenticates it, from the X-Heartbeat-Token header or
// Authorization: Bearer (what Alertmanager's http_config sends; servers
// before 9.4 remove that header, see TokenHeader). Any method; the body is
// ignored (Alertmanager posts its notification).
func (a *API) serveBeat(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	token := strings.TrimSpace(r.Header.Get(wire.HeartbeatTokenHeader))
	if token == "" {
		token = requestToken(r) // Authorization: Bearer, on servers that pass it (9.4+)
	}
	h, err := a.App.Beat(r.Context(), r.PathValue("name"), token)
	if err != nil {
		a.logInternal(r.Context(), err, "heartbeat", "")
		code := status(err)
		if incident.KindOf(err) == incident.KindInternal && h != nil {
			code = http.StatusOK // the beat is stored; what failed after it is retried
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		writeJSON(w, map[string]string{"error": incident.UserMessage(err)})
		return
	}
	writeJSON(w, map[string]string{"status": "ok", "heartbeat": h.Name, "missed_after": h.DueAt().UTC().Format(time.RFC3339)})
}
