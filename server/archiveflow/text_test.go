package archiveflow

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
)

func TestImportText(t *testing.T) {
	r := &app.ImportReport{DryRun: true,
		Archive:     archive.Meta{SiteURL: "https://old.example.com @channel", ExportedAt: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), ExportedBy: "root"},
		Created:     []string{"a1", "a2"},
		Unchanged:   []string{"a3"},
		KeptNewer:   []string{"a4"},
		Skipped:     []app.ImportSkip{{ID: "a5", Why: "another incident here has the id #a5 (started 2026-01-01 10:00 UTC)"}},
		DocsCreated: []string{"the rota"}, DocsKept: []string{"runbook db"},
		UnmatchedUsers:    []app.Unmatched{{Name: "@carol", Where: []string{"#a1", "the rota"}}},
		UnmatchedChannels: []app.Unmatched{{Name: "ops/incident-a2", Where: []string{"#a2"}}},
	}
	got := importText(r, func(s string) string { return s })
	for _, want := range []string{
		"exported 2026-11-30 12:00 UTC by @root",
		"Would import 2 new incidents; 1 are the same here already; 1 are newer here and stay as they are (#a4).",
		"- Added: the rota.", "- Kept this server's: runbook db.",
		"- Not imported: #a5, because another incident here has the id #a5",
		"**Users not on this server (1)**", "- @carol, in #a1, the rota",
		"**Channels not on this server (1)**", "- ops/incident-a2, in #a2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("import text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, " @channel") {
		t.Errorf("text from the archive can mention @channel:\n%s", got)
	}
	r.DryRun = false
	if got := importText(r, func(s string) string { return s }); !strings.Contains(got, "Imported 2 new incidents") {
		t.Errorf("the import's own report:\n%s", got)
	}
}

func TestImportTextStaysOnePost(t *testing.T) {
	r := &app.ImportReport{}
	for i := range 2000 {
		id := fmt.Sprintf("inc%04d", i)
		r.Created = append(r.Created, id)
		r.KeptNewer = append(r.KeptNewer, id)
		r.Skipped = append(r.Skipped, app.ImportSkip{ID: id, Why: "its channel here already belongs to incident #" + id})
		r.UnmatchedChannels = append(r.UnmatchedChannels, app.Unmatched{Name: "ops/incident-" + id + "-" + strings.Repeat("x", 40), Where: r.Created})
	}
	r.UnmatchedUsers = r.UnmatchedChannels
	got := importText(r, func(s string) string { return s })
	if n := utf8.RuneCountInString(got); n > 16383 {
		t.Fatalf("the report of a large import is %d characters, over one post", n)
	}
	for _, want := range []string{"and 1985 more not imported", "- … and 1985 more", "#inc0007 and 1992 more"} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
}
