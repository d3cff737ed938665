package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// ImportOptions say what an import may do.
type ImportOptions struct {
	// DryRun writes nothing: the report says what an import would do.
	DryRun bool
	// Shared lets the archive's rota and sign-off groups replace this
	// server's; without it they are only shown (Shared in the report).
	// They decide who is paged and who approves hotfixes, so the admin
	// chooses, having seen their members.
	Shared bool
}

// ImportReport says what an import did, or (DryRun) would do.
type ImportReport struct {
	DryRun  bool
	Archive archive.Meta
	// Shared are the archive's rota and sign-off groups where they differ
	// from this server's: taken only with ImportOptions.Shared.
	Shared []SharedDoc
	// Created, Updated and Unchanged list incident ids: new here, brought
	// up to the archive's newer copy, already the same here.
	Created, Updated, Unchanged []string
	// KeptNewer lists incidents whose copy here is newer than the
	// archive's; they are left as they are.
	KeptNewer []string
	// Skipped lists incidents that could not be imported, and why.
	Skipped []ImportSkip
	// DocsCreated and DocsKept name the runbooks that were added, or kept
	// as this server has them; DocsSkipped what the archive holds that
	// this server does not take, and why.
	DocsCreated, DocsKept, DocsSkipped []string
	// Unmatched users, channels and teams: named in the archive, not found
	// here. Their ids are kept as they are.
	UnmatchedUsers    []Unmatched
	UnmatchedChannels []Unmatched
	UnmatchedTeams    []Unmatched
}

// SharedDoc is a shared document of the archive (the rota, the sign-off
// groups) that differs from this server's.
type SharedDoc struct {
	Label string
	// Members are the user ids it names (this server's where matched),
	// by role or group.
	Members map[string][]string
	// Replaces: this server has one, which it would replace.
	Replaces bool
	// Taken: the import wrote it (ImportOptions.Shared).
	Taken bool
}

// ImportSkip is an incident an import left out.
type ImportSkip struct {
	ID, Why string
}

// Unmatched is a name of the archive that this server does not have, and
// the incidents (or "rota", "sign-off groups") that mention it.
type Unmatched struct {
	Name  string
	Where []string
}

// Changed reports whether the import changed (or would change) anything.
func (r *ImportReport) Changed() bool {
	return len(r.Created)+len(r.Updated)+len(r.DocsCreated)+len(r.Shared) > 0
}

// importReaders is how many incidents an import writes at once, for the
// reason exportReaders gives.
const importReaders = 2

// importer carries one import's mapping and report.
type importer struct {
	a   *App
	arc archive.Source
	ids map[string]string // archive id -> this server's id, read-only once matched
	// mu guards the report and the notes of unmatched names, which the
	// import's workers add to.
	mu     sync.Mutex
	opts   ImportOptions
	report *ImportReport
	// missing maps an unmatched archive id to the places it appears.
	missing map[string]map[string]bool
	// unknown are the incidents' channels the archive cannot name.
	unknown []Unmatched
}

// ImportArchive brings the archive's incidents and shared documents into
// this server, matching users by username, channels by team and channel
// name and teams by name. It is idempotent: importing the same archive
// again changes nothing. An incident that exists here is brought up to
// the archive's copy only when that copy is newer (later update, longer
// timeline) and continues this one; a newer copy here is kept. With
// dryRun nothing is written and the report says what would happen. Only
// system admins may. The archive is untrusted: it never changes who may
// see an incident here, binds a new incident only to a channel named as
// the incident's own, adds events to an incident here but never rewrites
// its documents, and takes the rota and sign-off groups only when asked
// (ImportArchiveWith).
func (a *App) ImportArchive(ctx context.Context, actor string, arc archive.Source, dryRun bool) (*ImportReport, error) {
	return a.ImportArchiveWith(ctx, actor, arc, ImportOptions{DryRun: dryRun})
}

// ImportArchiveWith is ImportArchive with options.
func (a *App) ImportArchiveWith(ctx context.Context, actor string, arc archive.Source, opts ImportOptions) (*ImportReport, error) {
	dryRun := opts.DryRun
	if a.names == nil {
		return nil, errors.New("import archive: not configured")
	}
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins can import an incident archive")
	}
	im := &importer{a: a, arc: arc, opts: opts, ids: map[string]string{}, missing: map[string]map[string]bool{},
		report: &ImportReport{DryRun: dryRun, Archive: arc.Meta}}
	began := time.Now()
	im.match(ctx)
	matched := time.Since(began)
	src := arc.Store
	list, err := src.ListSince(ctx, arc.Meta.Since)
	if err != nil {
		return nil, fmt.Errorf("read the archive: %w", err)
	}
	if err := im.incidents(ctx, list); err != nil {
		return im.report, err
	}
	if err := im.sharedDocs(ctx); err != nil {
		return im.report, err
	}
	im.finishReport()
	a.log.Info().Bool("dry_run", dryRun).Int("incidents", len(list)).Dur("match", matched).Dur("took", time.Since(began)).Msg("incident archive read into the store")
	return im.report, nil
}

// match finds this server's id for every name in the archive's directory.
func (im *importer) match(ctx context.Context) {
	n, dir := im.a.names, im.arc.Directory
	for id, u := range dir.Users {
		if to, ok := n.FindUser(ctx, u.Username); ok {
			im.ids[id] = to
		}
	}
	for id, t := range dir.Teams {
		if to, ok := n.FindTeam(ctx, t.Name); ok {
			im.ids[id] = to
		}
	}
	for id, c := range dir.Channels {
		if to, ok := n.FindChannel(ctx, c.Team, c.Name); ok {
			im.ids[id] = to
		}
	}
}

// remap returns raw with the archive's ids replaced by this server's, and
// notes where unmatched ones appear.
func (im *importer) remap(raw []byte, where string) []byte {
	im.mu.Lock()
	defer im.mu.Unlock()
	archive.EachID(raw, func(id string) {
		if _, ok := im.ids[id]; !ok && im.arc.Directory.Known(id) {
			if im.missing[id] == nil {
				im.missing[id] = map[string]bool{}
			}
			im.missing[id][where] = true
		}
	})
	out, _ := archive.Remap(raw, im.ids)
	return out
}

// incidents imports list, importReaders at a time, each yielding to live
// work first.
func (im *importer) incidents(ctx context.Context, list []*incident.Incident) error {
	return im.a.eachYielding(ctx, len(list), importReaders, func(i int) error { return im.incident(ctx, list[i]) })
}

// note adds id to one of the report's lists.
func (im *importer) note(list *[]string, id string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	*list = append(*list, id)
}

func (im *importer) skip(id, why string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.report.Skipped = append(im.report.Skipped, ImportSkip{id, why})
}

// incident imports one incident: new, newer, unchanged or kept.
func (im *importer) incident(ctx context.Context, src *incident.Incident) error {
	a, r, ref := im.a, im.report, "#"+src.ID
	events, err := im.arc.Store.Timeline(ctx, src.ID)
	if err != nil {
		return fmt.Errorf("read the archive's timeline of %s: %w", ref, err)
	}
	rec, evs, err := im.remapIncident(src, events)
	if err != nil {
		return err
	}
	cur, err := a.store.GetIncident(ctx, rec.ID)
	switch {
	case errors.Is(err, incident.ErrNotFound):
		if c, named := im.arc.Directory.Channels[src.ChannelID]; named && !incident.IsChannelNameOf(c.Name, src.ID) {
			im.skip(rec.ID, fmt.Sprintf("the archive binds it to channel %s/%s, which is not named as its own (%s-%s…)", c.Team, c.Name, incident.ChannelPrefix, src.ID))
			return nil
		}
		if r.DryRun { // the import itself refuses a taken channel on its own
			if owner, err := a.store.IncidentIDForChannel(ctx, rec.ChannelID); err == nil && owner != rec.ID {
				im.skip(rec.ID, fmt.Sprintf("its channel here already belongs to incident #%s", owner))
				return nil
			}
		} else if err := a.store.ImportIncident(ctx, rec, evs); err != nil {
			if incident.KindOf(err) == incident.KindConflict {
				im.skip(rec.ID, incident.UserMessage(err))
				return nil
			}
			return err
		}
		if err := im.incidentDocs(ctx, src.ID); err != nil {
			return err
		}
		if err := im.stats(ctx, rec.ID); err != nil {
			return err
		}
		im.note(&r.Created, rec.ID)
		return nil
	case err != nil:
		return err
	}
	if !cur.CreatedAt.Equal(rec.CreatedAt) {
		im.skip(rec.ID, fmt.Sprintf("another incident here has the id %s (started %s)", ref, cur.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")))
		return nil
	}
	tail, err := a.store.TimelineTail(ctx, rec.ID, 1)
	if err != nil {
		return err
	}
	here := 0
	if len(tail) > 0 {
		here = tail[0].Seq + 1
	}
	switch {
	case cur.UpdatedAt.After(rec.UpdatedAt) || here > len(evs):
		im.note(&r.KeptNewer, rec.ID)
		return nil
	case here == len(evs) && cur.UpdatedAt.Equal(rec.UpdatedAt):
		im.note(&r.Unchanged, rec.ID)
		return nil
	}
	if here > 0 && !sameEvent(tail[0], evs[here-1]) {
		im.skip(rec.ID, "its timeline here and in the archive went separate ways; kept this server's")
		return nil
	}
	if !r.DryRun {
		if err := im.catchUp(ctx, rec, evs[here:]); err != nil {
			return err
		}
	}
	if err := im.incidentDocs(ctx, rec.ID); err != nil {
		return err
	}
	if err := im.stats(ctx, rec.ID); err != nil {
		return err
	}
	im.note(&r.Updated, rec.ID)
	return nil
}

// stats computes the figures of incident id as imported (not in a dry
// run), for the list and the stats.
func (im *importer) stats(ctx context.Context, id string) error {
	if im.report.DryRun {
		return nil
	}
	inc, err := im.a.store.GetIncident(ctx, id)
	if err == nil {
		err = im.a.noteStats(ctx, inc)
	}
	return err
}

// remapIncident returns the archive's record and timeline with this
// server's ids, without the source server's posts and pending work.
func (im *importer) remapIncident(src *incident.Incident, events []incident.Event) (*incident.Incident, []incident.Event, error) {
	where := "#" + src.ID
	raw, err := json.Marshal(src)
	if err != nil {
		return nil, nil, err
	}
	var rec incident.Incident
	if err := json.Unmarshal(im.remap(raw, where), &rec); err != nil {
		return nil, nil, fmt.Errorf("decode the archive's %s: %w", where, err)
	}
	// The card and the follow-up work belong to the server that ran the
	// incident: its posts do not exist here.
	rec.CardPostID, rec.Outbox = "", nil
	if _, ok := im.ids[src.ChannelID]; !ok && !im.arc.Directory.Known(src.ChannelID) {
		// The old server no longer had the channel when it exported, so
		// the archive cannot name it: say so, as for a name not found.
		im.mu.Lock()
		im.unknown = append(im.unknown, Unmatched{Name: "a channel the old server no longer had (" + src.ChannelID + ")", Where: []string{where}})
		im.mu.Unlock()
	}
	evs := make([]incident.Event, len(events))
	for i, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(im.remap(raw, where), &evs[i]); err != nil {
			return nil, nil, fmt.Errorf("decode the archive's %s event %d: %w", where, i, err)
		}
	}
	return &rec, evs, nil
}

func sameEvent(a, b incident.Event) bool {
	return a.Seq == b.Seq && a.Type == b.Type && a.At.Equal(b.At) && a.Key == b.Key
}

// catchUp appends the archive's later events to the copy here and takes
// the archive's record, keeping this server's channel, team, card and
// pending work; an incident private here stays private.
func (im *importer) catchUp(ctx context.Context, rec *incident.Incident, later []incident.Event) error {
	for _, e := range later {
		got, err := im.a.store.AppendEvent(ctx, rec.ID, e)
		if err != nil {
			return err
		}
		if got.Seq != e.Seq {
			return fmt.Errorf("import #%s: event %d landed as %d: the incident changed here during the import", rec.ID, e.Seq, got.Seq)
		}
	}
	_, err := im.a.store.UpdateIncident(ctx, rec.ID, func(inc *incident.Incident) error {
		next := rec.Clone()
		next.ID, next.ChannelID, next.TeamID, next.CreatedAt = inc.ID, inc.ChannelID, inc.TeamID, inc.CreatedAt
		next.Private = next.Private || inc.Private
		next.CardPostID, next.Outbox, next.OutboxSeq, next.Revision = inc.CardPostID, inc.Outbox, inc.OutboxSeq, inc.Revision
		*inc = *next
		return nil
	})
	return err
}

// incidentDocs adds the archive's documents of one incident that this
// server does not have (in a dry run, it only notes the names they
// mention): an incident here keeps its action items, hotfix sign-offs and
// checklist as they are.
func (im *importer) incidentDocs(ctx context.Context, id string) error {
	for _, doc := range incidentDocs {
		raw, err := im.arc.Store.GetDoc(ctx, doc(id))
		if err != nil {
			return err
		}
		if raw == nil {
			continue
		}
		raw = im.remap(raw, "#"+id)
		if im.report.DryRun {
			continue
		}
		if _, err := im.a.store.CompareAndSetDoc(ctx, doc(id), nil, raw); err != nil {
			return err
		}
	}
	return nil
}

// setDoc replaces a document, whatever it holds.
func (im *importer) setDoc(ctx context.Context, name string, raw []byte) error {
	for range 10 {
		cur, err := im.a.store.GetDoc(ctx, name)
		if err != nil {
			return err
		}
		if bytes.Equal(cur, raw) {
			return nil
		}
		ok, err := im.a.store.CompareAndSetDoc(ctx, name, cur, raw)
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("import %s: it kept changing; try again", name)
}

// sharedDocs shows the archive's rota and sign-off groups where they
// differ from this server's, and takes them when the admin asked to; it
// adds the runbooks this server does not have (what it has, it keeps).
func (im *importer) sharedDocs(ctx context.Context) error {
	if err := im.sharedDoc(ctx, rotaDoc, "the rota", rotaMembers); err != nil {
		return err
	}
	if err := im.otherRotas(ctx); err != nil {
		return err
	}
	if err := im.sharedDoc(ctx, groupsDoc, "the sign-off groups", groupMembers); err != nil {
		return err
	}
	idx, _, err := loadDoc[runbookIndex](ctx, im.arc.Store, runbookIndexDoc)
	if err != nil {
		return fmt.Errorf("read the archive's runbooks: %w", err)
	}
	var added []string
	for _, name := range idx.Names {
		if clean, err := runbook.CleanName(name); err != nil || clean != name {
			im.report.DocsSkipped = append(im.report.DocsSkipped, "a runbook whose name is not one this server takes")
			continue
		}
		if raw, err := im.a.store.GetDoc(ctx, runbookHeadDoc(name)); err != nil {
			return err
		} else if raw != nil {
			im.report.DocsKept = append(im.report.DocsKept, "runbook "+name)
			continue
		}
		versions, err := im.arc.Store.DocNames(ctx, runbookHeadDoc(name)+"/")
		if err != nil {
			return err
		}
		// Versions first and the head last, as saving a runbook does.
		for _, doc := range append(versions, runbookHeadDoc(name)) {
			raw, err := im.arc.Store.GetDoc(ctx, doc)
			if err != nil {
				return err
			}
			if raw == nil {
				continue
			}
			raw = im.remap(raw, "runbook "+name)
			if !im.report.DryRun {
				if err := im.setDoc(ctx, doc, raw); err != nil {
					return err
				}
			}
		}
		added = append(added, name)
		im.report.DocsCreated = append(im.report.DocsCreated, "runbook "+name)
	}
	if len(added) == 0 || im.report.DryRun {
		return nil
	}
	_, _, err = updateDoc(ctx, im.a.store, runbookIndexDoc, func(x *runbookIndex, _ bool) error {
		for _, name := range added {
			if !slices.Contains(x.Names, name) {
				x.Names = append(x.Names, name)
			}
		}
		slices.Sort(x.Names)
		return nil
	})
	return err
}

// sharedDoc reports the archive's document name where it differs from
// this server's, and writes it over this server's when the admin asked
// to. members lists the people it names, for the preview.
func (im *importer) sharedDoc(ctx context.Context, name, label string, members func([]byte) (map[string][]string, error)) error {
	raw, err := im.arc.Store.GetDoc(ctx, name)
	if err != nil || raw == nil {
		return err
	}
	raw = im.remap(raw, label)
	who, err := members(raw)
	if err != nil {
		im.report.DocsSkipped = append(im.report.DocsSkipped, label+" (unreadable: "+err.Error()+")")
		return nil
	}
	cur, err := im.a.store.GetDoc(ctx, name)
	if err != nil {
		return err
	}
	if cur != nil {
		if here, err := members(cur); err == nil && reflect.DeepEqual(here, who) {
			return nil // the same people in the same places
		}
	}
	d := SharedDoc{Label: label, Members: who, Replaces: cur != nil}
	if im.opts.Shared && !im.report.DryRun {
		if err := im.setDoc(ctx, name, raw); err != nil {
			return err
		}
		d.Taken = true
	}
	im.report.Shared = append(im.report.Shared, d)
	return nil
}

// otherRotas shows the archive's rotas besides the first, as sharedDoc
// shows the first, and takes them when the admin asked to: a rota this
// server lacks is made (its teams and admins are this server's to set), one
// it has is replaced. A name that is not a rota's is skipped.
func (im *importer) otherRotas(ctx context.Context) error {
	d, ok, err := loadDoc[rotaDirectory](ctx, im.arc.Store, rotasDoc)
	if err != nil || !ok {
		return err
	}
	for _, e := range d.Rotas {
		if e.Doc == rotaDoc {
			continue
		}
		if !routing.ValidRotaName(e.Name) || e.Doc != "rota/v2/"+e.Name {
			im.report.DocsSkipped = append(im.report.DocsSkipped, "a rota whose name is not one this server takes")
			continue
		}
		before := len(im.report.Shared)
		if err := im.sharedDoc(ctx, e.Doc, "rota "+e.Name, rotaMembers); err != nil {
			return err
		}
		if len(im.report.Shared) == before || !im.report.Shared[before].Taken {
			continue
		}
		if _, _, err := updateDoc(ctx, im.a.store, rotasDoc, func(here *rotaDirectory, _ bool) error {
			if len(here.Rotas) == 0 {
				here.Rotas = []rotaEntry{{Name: FirstRotaName, Doc: rotaDoc}}
			}
			if slices.Contains(here.names(), e.Name) {
				return errUnchanged
			}
			here.Rotas = append(here.Rotas, rotaEntry{Name: e.Name, Doc: e.Doc})
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// rotaMembers lists a rota document's members by role.
func rotaMembers(raw []byte) (map[string][]string, error) {
	return membersIn(raw, func(r *rota.Rota) map[incident.Role][]string { return r.Members })
}

// groupMembers lists a sign-off groups document's members by group.
func groupMembers(raw []byte) (map[string][]string, error) {
	return membersIn(raw, func(g *hotfix.Groups) map[string][]string { return g.Members })
}

// membersIn decodes raw as a T and lists the non-empty member lists pick
// finds in it, by name.
func membersIn[T any, K ~string](raw []byte, pick func(*T) map[K][]string) (map[string][]string, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for name, ids := range pick(&v) {
		if len(ids) > 0 {
			out[string(name)] = ids
		}
	}
	return out, nil
}

// finishReport lists the unmatched names with where they appear.
func (im *importer) finishReport() {
	dir, r := im.arc.Directory, im.report
	for id, places := range im.missing {
		where := make([]string, 0, len(places))
		for p := range places {
			where = append(where, p)
		}
		sort.Strings(where)
		switch {
		case dir.Users[id].Username != "":
			r.UnmatchedUsers = append(r.UnmatchedUsers, Unmatched{"@" + dir.Users[id].Username, where})
		case dir.Channels[id].Name != "":
			c := dir.Channels[id]
			r.UnmatchedChannels = append(r.UnmatchedChannels, Unmatched{c.Team + "/" + c.Name, where})
		case dir.Teams[id].Name != "":
			r.UnmatchedTeams = append(r.UnmatchedTeams, Unmatched{dir.Teams[id].Name, where})
		}
	}
	for _, l := range [][]string{r.Created, r.Updated, r.Unchanged, r.KeptNewer} {
		slices.Sort(l)
	}
	sort.Slice(r.Skipped, func(i, j int) bool { return r.Skipped[i].ID < r.Skipped[j].ID })
	r.UnmatchedChannels = append(r.UnmatchedChannels, im.unknown...)
	for _, l := range [][]Unmatched{r.UnmatchedUsers, r.UnmatchedChannels, r.UnmatchedTeams} {
		sort.Slice(l, func(i, j int) bool { return strings.Compare(l[i].Name, l[j].Name) < 0 })
	}
}

// Unmatched lists every unmatched name, users first.
func (r *ImportReport) Unmatched() []Unmatched {
	return slices.Concat(r.UnmatchedUsers, r.UnmatchedChannels, r.UnmatchedTeams)
}

// ClaimImport reports whether this caller is the first, within ttl, to
// import the archive of the preview post postID: two presses of Import,
// on one node or two, import once. After ttl (an import that died with
// its process) a press imports again, which finishes what is missing.
func (a *App) ClaimImport(ctx context.Context, postID string, ttl time.Duration) (bool, error) {
	return a.store.Claim(ctx, "archive/v1/import/"+postID, ttl)
}
