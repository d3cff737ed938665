package web

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Paths of the incident archive's page (system admins).
const (
	// ArchivePagePath offers the export and takes an archive to import.
	ArchivePagePath = "/archive"
	// ArchiveImportPath receives the page's upload.
	ArchiveImportPath = "/archive/import"
)

// maxArchiveUpload bounds an uploaded archive; the server's own file size
// limit applies too, when the upload is handed on.
const maxArchiveUpload = 1 << 30

// csrfCookie is Mattermost's CSRF token cookie. The server checks a cookie
// session's POST against it before the plugin sees the request: from the
// X-CSRF-Token header, which a form without scripts cannot send, or from
// the "csrf" form value. It reads that value before it parses a multipart
// body, so only the query string can carry it: the form's action does.
const csrfCookie = "MMCSRF"

// Archives hands an archive uploaded on the page to the chat import flow:
// it lands in the admin's direct message with the bot, which previews it
// with an Import button. dmURL links to that direct message ("" if
// unknown).
type Archives interface {
	StageImport(ctx context.Context, actor, filename string, data []byte) (dmURL string, err error)
}

type archivePage struct {
	page
	CSRF string
	// After an upload: where its preview is, or why it was refused.
	Sent  bool
	DMURL string
	Error string
}

// ServeArchive serves GET /archive.
func (p *Pages) ServeArchive(w http.ResponseWriter, r *http.Request, actor string) {
	data, ok := p.archivePage(w, r, actor)
	if ok {
		p.render(w, "archive", data)
	}
}

// ServeArchiveImport serves POST /archive/import: a multipart form with
// the file as "archive".
func (p *Pages) ServeArchiveImport(w http.ResponseWriter, r *http.Request, actor string) {
	data, ok := p.archivePage(w, r, actor)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxArchiveUpload)
	file, hdr, err := r.FormFile("archive")
	if err != nil {
		data.Error = "Choose the .incidents file to import, then press Preview import."
		if errors.As(err, new(*http.MaxBytesError)) {
			data.Error = "The file is over 1 GB; an incident archive is far smaller."
		}
		w.WriteHeader(http.StatusBadRequest)
		p.render(w, "archive", data)
		return
	}
	defer file.Close()
	raw, err := io.ReadAll(file)
	if err == nil {
		data.DMURL, err = p.Archives.StageImport(r.Context(), actor, hdr.Filename, raw)
	}
	if err != nil {
		if incident.KindOf(err) == incident.KindInternal {
			p.Log.Error().Err(err).Str("user", actor).Msg("stage an uploaded archive")
		}
		data.Error = incident.UserMessage(err)
		w.WriteHeader(http.StatusBadRequest)
		p.render(w, "archive", data)
		return
	}
	data.Sent = true
	p.render(w, "archive", data)
}

// archivePage checks that actor is a system admin (else answers 403) and
// returns the page's data.
func (p *Pages) archivePage(w http.ResponseWriter, r *http.Request, actor string) (*archivePage, bool) {
	if p.Archives == nil || !p.App.IsSystemAdmin(r.Context(), actor) {
		p.fail(w, r.Context(), incident.Forbiddenf("only system admins can export or import the incident archive"), "archive", actor)
		return nil, false
	}
	data := &archivePage{page: page{Title: "Incident archive", Root: "./", Nav: "incidents", Now: p.App.Now(), Form: true}}
	if c, err := r.Cookie(csrfCookie); err == nil {
		data.CSRF = c.Value
	}
	return data, true
}
