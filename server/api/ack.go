package api

import (
	"fmt"
	"html"
	"net/http"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// serveAckLink serves an acknowledge link from an email or a webhook: no
// session, the signed token is the authority for that page and person.
// GET shows the page and a button; only the POST it makes acknowledges,
// so that a mail scanner fetching the link acknowledges nothing.
func (a *API) serveAckLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodPost {
		p, err := a.App.AcknowledgeByLink(r.Context(), token)
		switch {
		case err == nil:
			ackPage(w, http.StatusOK, "Acknowledged", fmt.Sprintf("You acknowledged the page at level %d. Nothing more is sent for it; the incident channel shows it.", p.Level()), "")
		case err == app.ErrPageAlreadyAcknowledged:
			ackPage(w, http.StatusOK, "Already acknowledged", "The page was acknowledged before; nothing more is sent for it.", "")
		default:
			a.logInternal(r.Context(), err, "ack link", "")
			ackPage(w, status(err), "Not acknowledged", incident.UserMessage(err), "")
		}
		return
	}
	l, err := a.App.ReadAckLink(r.Context(), token)
	if err != nil {
		a.logInternal(r.Context(), err, "ack link", "")
		ackPage(w, status(err), "Not a valid link", incident.UserMessage(err), "")
		return
	}
	what := "a private incident (its details are in Mattermost)"
	if l.Incident != nil {
		what = fmt.Sprintf("incident #%s (%s)", l.Incident.ID, l.Incident.Severity)
		if !l.Incident.Private {
			what += ": " + l.Incident.Title
		}
	}
	switch {
	case l.Used:
		ackPage(w, http.StatusOK, "Link used", "This link acknowledged its page already.", "")
	case !l.Page.Pending():
		ackPage(w, http.StatusOK, "Nothing to acknowledge", "The page for "+what+" was acknowledged or closed already.", "")
	default:
		ackPage(w, http.StatusOK, "Acknowledge the page", "You are paged for "+what+". Acknowledge, and the page stops escalating.", "Acknowledge")
	}
}

// ackPage writes a small self-contained page; button, when set, posts
// back to the same address.
func ackPage(w http.ResponseWriter, code int, title, text, button string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(code)
	form := ""
	if button != "" {
		form = `<form method="post"><button type="submit">` + html.EscapeString(button) + `</button></form>`
	}
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>%s</title>`+
		`<style>body{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}button{font-size:1.2em;padding:.6em 1.4em;background:#1c58d9;color:#fff;border:0;border-radius:4px}</style>`+
		`</head><body><h1>%s</h1><p>%s</p>%s</body></html>`, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text), form)
}
