package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Paths of the incident archive's page (system admins).
const (
	// ArchivePagePath offers the export and takes an archive to import.
	ArchivePagePath = "/archive"
	// ArchiveImportPath receives the page's upload.
	ArchiveImportPath = "/archive/import"
)

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
// the file as "archive". The file streams to a temporary file, within the
// upload limit, and is checked (trailer, checksum) before it goes on to
// the direct message, where the bot previews it.
func (p *Pages) ServeArchiveImport(w http.ResponseWriter, r *http.Request, actor string) {
	data, ok := p.archivePage(w, r, actor)
	if !ok {
		return
	}
	refuse := func(msg string) {
		data.Error = msg
		w.WriteHeader(http.StatusBadRequest)
		p.render(w, "archive", data)
	}
	path, name, err := p.receiveUpload(r)
	if path != "" {
		defer os.RemoveAll(filepath.Dir(path))
	}
	if err != nil {
		if incident.KindOf(err) == incident.KindInternal {
			p.Log.Error().Err(err).Str("user", actor).Msg("receive an uploaded archive")
		}
		refuse(incident.UserMessage(err))
		return
	}
	if err := archivefile.Check(path); err != nil {
		refuse(err.Error())
		return
	}
	raw, err := os.ReadFile(path) // the server takes a plugin's upload whole
	if err == nil {
		data.DMURL, err = p.Archives.StageImport(r.Context(), actor, name, raw)
	}
	if err != nil {
		if incident.KindOf(err) == incident.KindInternal {
			p.Log.Error().Err(err).Str("user", actor).Msg("stage an uploaded archive")
		}
		refuse(incident.UserMessage(err))
		return
	}
	data.Sent = true
	p.render(w, "archive", data)
}

// receiveUpload streams the form's "archive" part into a file of a new
// temporary directory, and returns its path and the name it was sent
// under. An upload over the limit, or without the part, is refused.
func (p *Pages) receiveUpload(r *http.Request) (path, name string, err error) {
	limit := archivefile.DefaultLimits.MaxBytes
	if p.MaxUpload != nil {
		if n := p.MaxUpload(); n > 0 && n < limit {
			limit = n
		}
	}
	choose := incident.Invalidf("Choose the .incidents file to import, then press Preview import.")
	mr, err := r.MultipartReader()
	if err != nil {
		return "", "", choose
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return "", "", choose
		}
		if part.FormName() != "archive" || part.FileName() == "" {
			continue
		}
		dir, err := os.MkdirTemp("", "incident-archive-upload-")
		if err != nil {
			return "", "", err
		}
		path = filepath.Join(dir, "upload.incidents")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return path, "", err
		}
		n, err := io.Copy(f, io.LimitReader(part, limit+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		switch {
		case err != nil:
			return path, "", fmt.Errorf("receive the upload: %w", err)
		case n > limit:
			return path, "", incident.Invalidf("The file is over %s, the most this server takes; export in parts with `--since`.", archivefile.SizeText(limit))
		case n == 0:
			return path, "", choose
		}
		return path, part.FileName(), nil
	}
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
