package api

import (
	"mime"
	"net/http"
	"os"
	"path"
	"time"

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

// serveArchiveDownload exports the incident archive and sends it as a
// download: POST /archive.incidents, since=2026-01-01 optional (system
// admins). A POST, so that a browser session sends Mattermost's CSRF token
// with it (the server checks it before the plugin sees the request): a
// link or an image in a post an admin views cannot start an export. One
// export runs at a time on a node.
func (a *API) serveArchiveDownload(w http.ResponseWriter, r *http.Request, actor string) {
	if !a.exporting.CompareAndSwap(false, true) {
		http.Error(w, "An export of the incident archive is running on this server; download again once it is done.", http.StatusTooManyRequests)
		return
	}
	defer a.exporting.Store(false)
	var since time.Time
	if v := r.FormValue("since"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			http.Error(w, "since: a date such as 2026-01-01", http.StatusBadRequest)
			return
		}
		since = t
	}
	path, name, remove, err := a.Archives.ExportArchiveFile(r.Context(), actor, since)
	if err != nil {
		a.logInternal(r.Context(), err, "archive download", actor)
		http.Error(w, a.Render(incident.UserMessage(err)), status(err))
		return
	}
	defer remove()
	f, err := os.Open(path)
	if err != nil {
		a.logInternal(r.Context(), err, "archive download", actor)
		http.Error(w, "the archive could not be read", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, "the archive could not be read", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, name, info.ModTime(), f)
}
