package app

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// An archive may have been altered: whatever its newer copy of an incident
// here says, the incident stays as private as it is here, in its channel
// and team, with its action items, hotfix sign-offs and checklist as they
// are here; it only gains the events it lacks.
func TestArchiveNeverLoosensAnIncidentHere(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		ctx := t.Context()
		src := newEnvOn(t, bolt)
		src.app.names, src.app.dir = srcNames, admins{mmid("root1"): true}
		seedHistory(t, src.store, src.now)
		dst := newEnvOn(t, kind)
		dst.app.names, dst.app.dir = dstNames, admins{mmid("root2"): true}
		if _, err := dst.app.ImportArchive(ctx, mmid("root2"), openArchive(t, exportTo(t, src, mmid("root1"))), false); err != nil {
			t.Fatal(err)
		}
		// Here: made private, its action items edited.
		if _, err := dst.store.UpdateIncident(ctx, "hist0", func(inc *incident.Incident) error { inc.Private = true; return nil }); err != nil {
			t.Fatal(err)
		}
		here := `{"items":[{"n":1,"text":"kept here","owner":"` + mmid("bob2") + `"}]}`
		if err := dst.app.importSetDoc(ctx, actionsDoc("hist0"), here); err != nil {
			t.Fatal(err)
		}
		// There: a later event, another team, public, other action items.
		later := src.now.Add(time.Hour)
		if _, err := src.store.AppendEvent(ctx, "hist0", incident.NewEvent(later, mmid("bob1"), incident.EventNote, "there")); err != nil {
			t.Fatal(err)
		}
		if _, err := src.store.UpdateIncident(ctx, "hist0", func(inc *incident.Incident) error {
			inc.UpdatedAt, inc.TeamID, inc.Private = later, mmid("evil1"), false
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := src.app.importSetDoc(ctx, actionsDoc("hist0"), `{"items":[{"n":1,"text":"forged","owner":"`+mmid("alice1")+`"}]}`); err != nil {
			t.Fatal(err)
		}
		src.now = later
		rep, err := dst.app.ImportArchive(ctx, mmid("root2"), openArchive(t, exportTo(t, src, mmid("root1"))), false)
		if err != nil || !slices.Equal(rep.Updated, []string{"hist0"}) {
			t.Fatalf("import = %+v, %v", rep, err)
		}
		got, err := dst.store.GetIncident(ctx, "hist0")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Private || got.TeamID != mmid("ops2") || got.ChannelID != mmid("cha2") {
			t.Errorf("the archive changed who may see the incident: private %v, team %s, channel %s", got.Private, got.TeamID, got.ChannelID)
		}
		if raw, _ := dst.store.GetDoc(ctx, actionsDoc("hist0")); string(raw) != here {
			t.Errorf("the archive rewrote the action items here: %s", raw)
		}
		if tl, _ := dst.store.Timeline(ctx, "hist0"); len(tl) != 4 || tl[3].Text != "there" {
			t.Errorf("the later event was not added: %+v", tl)
		}
	})
}

// An archive binds a new incident only to a channel named as the
// incident's own: an altered archive naming some other channel here
// (town-square, a private channel of the board) binds nothing. Runbook
// names it holds are checked as this server's own are.
func TestArchiveBindsAnIncidentOnlyToItsOwnChannel(t *testing.T) {
	ctx := t.Context()
	withTownSquare := func(n fakeNames, id string) fakeNames {
		n.channels = maps.Clone(n.channels)
		n.channels[id] = archive.Channel{Team: "ops", Name: "town-square"}
		return n
	}
	src := newEnvOn(t, bolt)
	src.app.names, src.app.dir = withTownSquare(srcNames, mmid("ts1")), admins{mmid("root1"): true}
	inc := &incident.Incident{ID: "evil", Title: "Forged", Severity: incident.S3, TeamID: mmid("ops1"), ChannelID: mmid("ts1")}
	ev := inc.Start(src.now, mmid("alice1"))
	if err := src.store.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if _, err := src.store.AppendEvent(ctx, inc.ID, ev); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		runbookIndexDoc:             `{"names":["db","x/../rota"]}`,
		runbookHeadDoc("db"):        `{"name":"db","version":1}`,
		runbookHeadDoc("x/../rota"): `{"name":"x","version":1}`,
	} {
		if err := src.app.importSetDoc(ctx, name, raw); err != nil {
			t.Fatal(err)
		}
	}
	dst := newEnvOn(t, kv)
	dst.app.names, dst.app.dir = withTownSquare(dstNames, mmid("ts2")), admins{mmid("root2"): true}
	rep, err := dst.app.ImportArchive(ctx, mmid("root2"), openArchive(t, exportTo(t, src, mmid("root1"))), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created) != 0 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Why, "ops/town-square, which is not named as its own") {
		t.Fatalf("report = %+v", rep)
	}
	if _, err := dst.store.IncidentIDForChannel(ctx, mmid("ts2")); err == nil {
		t.Error("town-square is bound to an incident")
	}
	if !slices.Equal(rep.DocsCreated, []string{"runbook db"}) || len(rep.DocsSkipped) != 1 {
		t.Errorf("runbooks: created %v, skipped %v", rep.DocsCreated, rep.DocsSkipped)
	}
	if raw, _ := dst.store.GetDoc(ctx, runbookHeadDoc("x/../rota")); raw != nil {
		t.Errorf("a runbook with a name this server refuses was imported: %s", raw)
	}
}

// importSetDoc sets a document in the app's store, whatever it holds.
func (a *App) importSetDoc(ctx context.Context, name, raw string) error {
	im := &importer{a: a}
	return im.setDoc(ctx, name, []byte(raw))
}

// TestArchiveCarriesEveryRota: the rotas besides the first travel in the
// archive; the preview lists them with their members; they are made here
// only when the admin takes the rotas.
func TestArchiveCarriesEveryRota(t *testing.T) {
	ctx := t.Context()
	src := newEnvOn(t, bolt)
	src.app.names = srcNames
	src.app.dir = admins{mmid("root1"): true}
	seedHistory(t, src.store, src.now)
	if err := src.app.CreateRota(ctx, mmid("root1"), "payments", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := src.app.EditRotaOf(ctx, mmid("root1"), "payments", func(v *RotaView, now time.Time) ([]string, error) {
		_, err := v.Rota.SetMembers(incident.RoleL1, []string{mmid("alice1")}, v.Schedule, now)
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	arc := openArchive(t, exportTo(t, src, mmid("root1")))

	dst := newEnvOn(t, bolt)
	dst.app.names = dstNames
	dst.app.dir = admins{mmid("root2"): true}
	rep, err := dst.app.ImportArchiveWith(ctx, mmid("root2"), arc, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pay *SharedDoc
	for i := range rep.Shared {
		if rep.Shared[i].Label == "rota payments" {
			pay = &rep.Shared[i]
		}
	}
	if pay == nil || pay.Taken || !slices.Equal(pay.Members["l1"], []string{mmid("alice2")}) {
		t.Fatalf("the payments rota in the report: %+v", rep.Shared)
	}
	if list, _ := dst.app.Rotas(ctx); len(list) != 1 {
		t.Fatalf("a rota was made unasked: %+v", list)
	}
	if _, err := dst.app.ImportArchiveWith(ctx, mmid("root2"), arc, ImportOptions{Shared: true}); err != nil {
		t.Fatal(err)
	}
	v, err := dst.app.RotaOf(ctx, "payments")
	if err != nil || v.Rota.Members[incident.RoleL1][0] != mmid("alice2") {
		t.Fatalf("the payments rota here: %+v, %v", v, err)
	}
}
