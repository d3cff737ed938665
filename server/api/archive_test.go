package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// fakeArchives records what the archive routes ask for.
type fakeArchives struct {
	dir     string
	actions []string // "actor:post:action"
	since   time.Time
	staged  []string // "actor:file:content"
	exports int      // calls of ExportArchiveFile
}

func (f *fakeArchives) StageImport(_ context.Context, actor, name string, data []byte) (string, error) {
	if name == "refused.incidents" {
		return "", incident.Invalidf("the server refused the file: too large")
	}
	f.staged = append(f.staged, fmt.Sprintf("%s:%s:%d bytes", actor, name, len(data)))
	return "http://mm.example.com/ops/messages/@incident", nil
}

func (f *fakeArchives) ArchiveAction(_ context.Context, actor, postID, action string) (string, error) {
	f.actions = append(f.actions, actor+":"+postID+":"+action)
	return "Importing.", nil
}

func (f *fakeArchives) ExportArchiveFile(_ context.Context, actor string, since time.Time) (string, string, func(), error) {
	f.exports++
	if actor != "root" {
		return "", "", nil, incident.Forbiddenf("only system admins can export the incident archive")
	}
	f.since = since
	path := filepath.Join(f.dir, "x.incidents")
	if err := os.WriteFile(path, []byte("archive bytes"), 0o600); err != nil {
		return "", "", nil, err
	}
	return path, "incidents-2026-11-30-1200.incidents", func() { _ = os.Remove(path) }, nil
}

func TestArchiveRoutes(t *testing.T) {
	e := newRouteEnv(t)
	f := &fakeArchives{dir: t.TempDir()}
	h := (&API{App: e.app, Dialogs: e.mm, Platform: e.mm, BotID: botID, Render: func(s string) string { return s }, Archives: f, Log: zerolog.Nop()}).Handler()
	serve := func(method, target, user string, body []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, bytes.NewReader(body))
		if user != "" {
			r.Header.Set("Mattermost-User-Id", user)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	// A GET (a link, an image in a post an admin views) exports nothing.
	if w := serve(http.MethodGet, web.ArchivePath, "root", nil); w.Code != http.StatusMethodNotAllowed || f.exports != 0 {
		t.Fatalf("download by GET: %d, %d exports", w.Code, f.exports)
	}
	if w := serve(http.MethodPost, web.ArchivePath, "", nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous download: %d", w.Code)
	}
	if w := serve(http.MethodPost, web.ArchivePath, "ann", nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "only system admins") {
		t.Fatalf("non-admin download: %d %s", w.Code, w.Body)
	}
	if w := serve(http.MethodPost, web.ArchivePath+"?since=yesterday", "root", nil); w.Code != http.StatusBadRequest {
		t.Fatalf("bad since: %d", w.Code)
	}
	w := serve(http.MethodPost, web.ArchivePath+"?since=2026-01-01", "root", nil)
	if w.Code != http.StatusOK || w.Body.String() != "archive bytes" || !f.since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		w.Header().Get("Content-Disposition") != `attachment; filename=incidents-2026-11-30-1200.incidents` {
		t.Fatalf("admin download: %d %q since %v, %v", w.Code, w.Body, f.since, w.Header())
	}
	if _, err := os.Stat(filepath.Join(f.dir, "x.incidents")); !os.IsNotExist(err) {
		t.Fatal("the exported file was left behind")
	}

	// The buttons act as the header's user; a body naming another is
	// refused.
	forged, _ := json.Marshal(model.PostActionIntegrationRequest{UserId: "root", PostId: "p1"})
	if w := serve(http.MethodPost, wire.ActionsPath+wire.ActionArchiveImport, "ann", forged); w.Code != http.StatusForbidden {
		t.Fatalf("forged import button: %d %s", w.Code, w.Body)
	}
	body, _ := json.Marshal(model.PostActionIntegrationRequest{PostId: "p1"})
	if w := serve(http.MethodPost, wire.ActionsPath+wire.ActionArchiveImport, "ann", body); w.Code != http.StatusOK {
		t.Fatalf("import button: %d %s", w.Code, w.Body)
	}
	serve(http.MethodPost, wire.ActionsPath+wire.ActionArchiveCancel, "root", body)
	if got := strings.Join(f.actions, " "); got != "ann:p1:archiveimport root:p1:archivecancel" {
		t.Fatalf("archive actions = %s", got)
	}
}

func TestArchivePage(t *testing.T) {
	e := newRouteEnv(t)
	f := &fakeArchives{dir: t.TempDir()}
	h := (&API{App: e.app, Dialogs: e.mm, Platform: e.mm, BotID: botID, Render: func(s string) string { return s },
		Pages: &web.Pages{App: e.app, Archives: f, Log: zerolog.Nop(), MaxUpload: func() int64 { return 64 << 10 }}, Archives: f, Log: zerolog.Nop()}).Handler()
	good := emptyArchive(t)
	serve := func(r *http.Request, user string) *httptest.ResponseRecorder {
		r.Header.Set("Mattermost-User-Id", user)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	upload := func(name, content string) *http.Request {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf", "tok")
		if name != "" {
			fw, _ := mw.CreateFormFile("archive", name)
			_, _ = fw.Write([]byte(content))
		}
		_ = mw.Close()
		r := httptest.NewRequest(http.MethodPost, web.ArchiveImportPath, &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		return r
	}

	get := httptest.NewRequest(http.MethodGet, web.ArchivePagePath, nil)
	get.AddCookie(&http.Cookie{Name: "MMCSRF", Value: "csrf-token-123"})
	w := serve(get, "root")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `action="archive/import?csrf=csrf-token-123"`) || !strings.Contains(w.Body.String(), `id="import"`) {
		t.Fatalf("admin's archive page: %d\n%s", w.Code, w.Body)
	}
	if w := serve(httptest.NewRequest(http.MethodGet, web.ArchivePagePath, nil), "ann"); w.Code != http.StatusForbidden {
		t.Fatalf("non-admin's archive page: %d", w.Code)
	}
	if w := serve(upload("a.incidents", "data"), "ann"); w.Code != http.StatusForbidden || len(f.staged) != 0 {
		t.Fatalf("non-admin's upload: %d, staged %v", w.Code, f.staged)
	}
	if w := serve(upload("", ""), "root"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Choose the .incidents file") {
		t.Fatalf("upload without a file: %d\n%s", w.Code, w.Body)
	}
	if w := serve(upload("refused.incidents", good), "root"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "too large") {
		t.Fatalf("refused upload: %d\n%s", w.Code, w.Body)
	}
	// Checked before it goes on: not an archive, or over the limit.
	if w := serve(upload("notes.incidents", "some notes"), "root"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not an incident archive") {
		t.Fatalf("upload of a file that is no archive: %d\n%s", w.Code, w.Body)
	}
	if w := serve(upload("big.incidents", strings.Repeat("x", 65<<10)), "root"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "over 64 KiB, the most this server takes") {
		t.Fatalf("upload over the limit: %d\n%s", w.Code, w.Body)
	}
	w = serve(upload("history.incidents", good), "root")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="import-sent"`) || !strings.Contains(w.Body.String(), "http://mm.example.com/ops/messages/@incident") {
		t.Fatalf("upload: %d\n%s", w.Code, w.Body)
	}
	if strings.Join(f.staged, " ") != fmt.Sprintf("root:history.incidents:%d bytes", len(good)) {
		t.Fatalf("staged = %v", f.staged)
	}
}

// emptyArchive returns the bytes of a valid archive with nothing in it.
func emptyArchive(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.incidents")
	w, err := archivefile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(archive.Meta{ExportedAt: time.Now()}, nil, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
