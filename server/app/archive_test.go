package app

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// fakeNames is one server's users, channels and teams: id -> name.
type fakeNames struct {
	users    map[string]string
	channels map[string]archive.Channel
	teams    map[string]string
}

func (f fakeNames) DescribeUser(_ context.Context, id string) (archive.User, bool) {
	n, ok := f.users[id]
	return archive.User{Username: n}, ok
}

func (f fakeNames) DescribeChannel(_ context.Context, id string) (archive.Channel, bool) {
	c, ok := f.channels[id]
	return c, ok
}

func (f fakeNames) DescribeTeam(_ context.Context, id string) (archive.Team, bool) {
	n, ok := f.teams[id]
	return archive.Team{Name: n}, ok
}

func find[V comparable](m map[string]V, want V) (string, bool) {
	for id, v := range m {
		if v == want {
			return id, true
		}
	}
	return "", false
}

func (f fakeNames) FindUser(_ context.Context, name string) (string, bool) {
	return find(f.users, name)
}
func (f fakeNames) FindTeam(_ context.Context, name string) (string, bool) {
	return find(f.teams, name)
}
func (f fakeNames) FindChannel(_ context.Context, team, name string) (string, bool) {
	return find(f.channels, archive.Channel{Team: team, Name: name})
}

// mmid makes a 26-character id, as Mattermost's are.
func mmid(prefix string) string { return prefix + strings.Repeat("x", 26-len(prefix)) }

var (
	srcNames = fakeNames{
		users:    map[string]string{mmid("alice1"): "alice", mmid("bob1"): "bob", mmid("carol1"): "carol", mmid("root1"): "root"},
		channels: map[string]archive.Channel{mmid("cha1"): {Team: "ops", Name: "incident-hist0-checkout-down"}, mmid("chb1"): {Team: "ops", Name: "incident-hist1-checkout-down"}},
		teams:    map[string]string{mmid("ops1"): "ops"},
	}
	// dstNames has the same names under other ids, and no carol.
	dstNames = fakeNames{
		users:    map[string]string{mmid("alice2"): "alice", mmid("bob2"): "bob", mmid("root2"): "root"},
		channels: map[string]archive.Channel{mmid("cha2"): {Team: "ops", Name: "incident-hist0-checkout-down"}, mmid("chb2"): {Team: "ops", Name: "incident-hist1-checkout-down"}},
		teams:    map[string]string{mmid("ops2"): "ops"},
	}
)

// seedHistory stores two incidents made by alice, with bob and carol in
// roles, an action item, the rota and a runbook, straight into st.
func seedHistory(t *testing.T, st incident.Store, at time.Time) {
	t.Helper()
	ctx := t.Context()
	for i, ch := range []string{mmid("cha1"), mmid("chb1")} {
		inc := &incident.Incident{ID: fmt.Sprintf("hist%d", i), Title: "Checkout down", Severity: incident.S2, TeamID: mmid("ops1"), ChannelID: ch,
			CardPostID: mmid("post1"), Roles: map[incident.Role]string{incident.RoleIM: mmid("alice1"), incident.RoleL1: mmid("carol1")}}
		ev := inc.Start(at.Add(time.Duration(i)*time.Hour), mmid("alice1"))
		if err := st.CreateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		for _, e := range []incident.Event{ev,
			incident.NewEvent(ev.At.Add(time.Minute), mmid("bob1"), incident.EventNote, "paged <@"+mmid("carol1")+">"),
			incident.NewEvent(ev.At.Add(2*time.Minute), mmid("alice1"), incident.EventStatusUpdate, "looking")} {
			if _, err := st.AppendEvent(ctx, inc.ID, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	docs := map[string]string{
		actionsDoc("hist0"):          `{"items":[{"n":1,"text":"add alerts","owner":"` + mmid("bob1") + `"}]}`,
		rotaDoc:                      `{"members":{"im":["` + mmid("alice1") + `"]}}`,
		runbookIndexDoc:              `{"names":["db"]}`,
		runbookHeadDoc("db"):         `{"name":"db","version":1}`,
		runbookVersionDoc("db", 1):   `{"name":"db","version":1,"author":"` + mmid("alice1") + `"}`,
		runbookVersionDoc("gone", 1): `{"name":"gone"}`,
	}
	for name, raw := range docs {
		if ok, err := st.CompareAndSetDoc(ctx, name, nil, []byte(raw)); err != nil || !ok {
			t.Fatalf("seed %s: %v", name, err)
		}
	}
}

func exportTo(t *testing.T, e *env, actor string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ArchiveFileName(e.now))
	if _, err := e.app.ExportArchive(t.Context(), actor, fileAt(path), ExportOptions{Settings: []byte(`{"DisplayTimeZone":"UTC"}`), Batch: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileAt makes an archive file at path, for ExportArchive.
func fileAt(path string) func() (archive.Writer, error) {
	return func() (archive.Writer, error) { return archivefile.Create(path) }
}

// openArchive opens the archive file at path, closed when t ends.
func openArchive(t *testing.T, path string) archive.Source {
	t.Helper()
	a, err := archivefile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a.Source()
}

func TestArchiveMovesHistoryBetweenServers(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		ctx := t.Context()
		src := newEnvOn(t, bolt)
		src.app.names = srcNames
		src.app.dir = admins{mmid("root1"): true}
		seedHistory(t, src.store, src.now)

		if _, err := src.app.ExportArchive(ctx, mmid("alice1"), fileAt(filepath.Join(t.TempDir(), "x")), ExportOptions{}); incident.KindOf(err) != incident.KindForbidden {
			t.Fatalf("a non-admin's export: %v", err)
		}
		arc := openArchive(t, exportTo(t, src, mmid("root1")))
		if arc.Meta.Incidents != 2 || arc.Meta.Events != 6 || arc.Meta.ExportedBy != "root" {
			t.Fatalf("archive meta = %+v", arc.Meta)
		}
		if arc.Directory.Users[mmid("carol1")].Username != "carol" || arc.Directory.Channels[mmid("cha1")].Name != "incident-hist0-checkout-down" ||
			arc.Directory.Teams[mmid("ops1")].Name != "ops" || arc.Directory.Known(mmid("post1")) {
			t.Fatalf("archive directory = %+v", arc.Directory)
		}

		dst := newEnvOn(t, kind)
		dst.app.names = dstNames
		dst.app.dir = admins{mmid("root2"): true}
		if _, err := dst.app.ImportArchive(ctx, mmid("alice2"), arc, false); incident.KindOf(err) != incident.KindForbidden {
			t.Fatalf("a non-admin's import: %v", err)
		}
		preview, err := dst.app.ImportArchive(ctx, mmid("root2"), arc, true)
		if err != nil || len(preview.Created) != 2 || !preview.DryRun {
			t.Fatalf("preview = %+v, %v", preview, err)
		}
		if _, err := dst.store.GetIncident(ctx, "hist0"); err == nil {
			t.Fatal("the preview imported an incident")
		}
		rep, err := dst.app.ImportArchive(ctx, mmid("root2"), arc, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rep.Created, []string{"hist0", "hist1"}) || len(rep.Skipped) != 0 ||
			!slices.Equal(rep.DocsCreated, []string{"runbook db"}) {
			t.Fatalf("report = %+v", rep)
		}
		// The rota is shown with its members, and taken only when asked.
		if len(rep.Shared) != 1 || rep.Shared[0].Label != "the rota" || rep.Shared[0].Taken || rep.Shared[0].Replaces ||
			!slices.Equal(rep.Shared[0].Members["im"], []string{mmid("alice2")}) {
			t.Fatalf("shared documents = %+v", rep.Shared)
		}
		if rota, _ := dst.store.GetDoc(ctx, rotaDoc); rota != nil {
			t.Fatalf("the rota was taken unasked: %s", rota)
		}
		withRota, err := dst.app.ImportArchiveWith(ctx, mmid("root2"), arc, ImportOptions{Shared: true})
		if err != nil || len(withRota.Shared) != 1 || !withRota.Shared[0].Taken || len(withRota.Unchanged) != 2 {
			t.Fatalf("import with the rota = %+v, %v", withRota, err)
		}
		if len(rep.UnmatchedUsers) != 1 || rep.UnmatchedUsers[0].Name != "@carol" || !slices.Equal(rep.UnmatchedUsers[0].Where, []string{"#hist0", "#hist1"}) {
			t.Fatalf("unmatched users = %+v", rep.UnmatchedUsers)
		}
		if fmt.Sprint(rep.Unmatched()) != fmt.Sprint(preview.Unmatched()) {
			t.Fatalf("the preview's unmatched names %v differ from the import's %v", preview.Unmatched(), rep.Unmatched())
		}

		inc, err := dst.store.GetIncident(ctx, "hist0")
		if err != nil {
			t.Fatal(err)
		}
		if inc.Roles[incident.RoleIM] != mmid("alice2") || inc.Roles[incident.RoleL1] != mmid("carol1") || inc.ChannelID != mmid("cha2") ||
			inc.TeamID != mmid("ops2") || inc.CreatedBy != mmid("alice2") || inc.CardPostID != "" {
			t.Fatalf("imported record = %+v", inc)
		}
		if owner, err := dst.store.IncidentIDForChannel(ctx, mmid("cha2")); err != nil || owner != "hist0" {
			t.Fatalf("channel of the import: %q, %v", owner, err)
		}
		tl, err := dst.store.Timeline(ctx, "hist0")
		if err != nil || len(tl) != 3 || tl[1].Actor != mmid("bob2") || tl[1].Text != "paged <@"+mmid("carol1")+">" {
			t.Fatalf("imported timeline = %+v, %v", tl, err)
		}
		items, err := dst.app.ActionItems(ctx, inc)
		if err != nil || len(items.Items) != 1 || items.Items[0].Owner != mmid("bob2") {
			t.Fatalf("imported action items = %+v, %v", items, err)
		}
		if rota, _ := dst.store.GetDoc(ctx, rotaDoc); !strings.Contains(string(rota), mmid("alice2")) {
			t.Fatalf("imported rota = %s", rota)
		}
		if rbs, err := dst.app.Runbooks(ctx); err != nil || len(rbs) != 1 || rbs[0].Name != "db" {
			t.Fatalf("imported runbooks = %+v, %v", rbs, err)
		}

		// Again: nothing changes.
		again, err := dst.app.ImportArchive(ctx, mmid("root2"), arc, false)
		if err != nil || again.Changed() || len(again.Unchanged) != 2 {
			t.Fatalf("second import = %+v, %v", again, err)
		}
		if tl2, _ := dst.store.Timeline(ctx, "hist0"); len(tl2) != 3 {
			t.Fatalf("second import changed the timeline: %d events", len(tl2))
		}

		// Newer here: kept. Newer in a later archive: caught up.
		if _, err := dst.store.AppendEvent(ctx, "hist0", incident.NewEvent(dst.now, mmid("bob2"), incident.EventNote, "here")); err != nil {
			t.Fatal(err)
		}
		later := src.now.Add(time.Hour)
		if _, err := src.store.AppendEvent(ctx, "hist1", incident.NewEvent(later, mmid("bob1"), incident.EventNote, "there")); err != nil {
			t.Fatal(err)
		}
		if _, err := src.store.UpdateIncident(ctx, "hist1", func(inc *incident.Incident) error { inc.UpdatedAt, inc.Title = later, "Checkout down (EU)"; return nil }); err != nil {
			t.Fatal(err)
		}
		src.now = src.now.Add(time.Hour)
		third, err := dst.app.ImportArchive(ctx, mmid("root2"), openArchive(t, exportTo(t, src, mmid("root1"))), false)
		if err != nil || !slices.Equal(third.KeptNewer, []string{"hist0"}) || !slices.Equal(third.Updated, []string{"hist1"}) {
			t.Fatalf("third import = %+v, %v", third, err)
		}
		if got, _ := dst.store.GetIncident(ctx, "hist1"); got.Title != "Checkout down (EU)" || got.ChannelID != mmid("chb2") {
			t.Fatalf("caught-up record = %+v", got)
		}
		if tl, _ := dst.store.Timeline(ctx, "hist1"); len(tl) != 4 || tl[3].Text != "there" || tl[3].Actor != mmid("bob2") {
			t.Fatalf("caught-up timeline = %+v", tl)
		}
		if tl, _ := dst.store.Timeline(ctx, "hist0"); len(tl) != 4 || tl[3].Text != "here" {
			t.Fatalf("the newer copy here changed: %+v", tl)
		}
	})
}

func TestArchiveReportsAChannelItCannotName(t *testing.T) {
	ctx := t.Context()
	src := newEnvOn(t, bolt)
	src.app.names, src.app.dir = srcNames, admins{mmid("root1"): true}
	inc := &incident.Incident{ID: "lost", Title: "Old", Severity: incident.S3, TeamID: mmid("ops1"), ChannelID: mmid("deleted1")}
	ev := inc.Start(src.now, mmid("alice1"))
	if err := src.store.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if _, err := src.store.AppendEvent(ctx, inc.ID, ev); err != nil {
		t.Fatal(err)
	}
	arc := openArchive(t, exportTo(t, src, mmid("root1")))
	dst := newEnvOn(t, kv)
	dst.app.names, dst.app.dir = dstNames, admins{mmid("root2"): true}
	rep, err := dst.app.ImportArchive(ctx, mmid("root2"), arc, false)
	if err != nil || !slices.Equal(rep.Created, []string{"lost"}) {
		t.Fatalf("import = %+v, %v", rep, err)
	}
	if len(rep.UnmatchedChannels) != 1 || !strings.Contains(rep.UnmatchedChannels[0].Name, mmid("deleted1")) || rep.UnmatchedChannels[0].Where[0] != "#lost" {
		t.Fatalf("unmatched channels = %+v", rep.UnmatchedChannels)
	}
}
