package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Names names the users, channels and teams an archive mentions, and finds
// this server's ids for those names when one is imported.
type Names interface {
	DescribeUser(ctx context.Context, id string) (archive.User, bool)
	DescribeChannel(ctx context.Context, id string) (archive.Channel, bool)
	DescribeTeam(ctx context.Context, id string) (archive.Team, bool)
	FindUser(ctx context.Context, username string) (string, bool)
	FindChannel(ctx context.Context, team, name string) (string, bool)
	FindTeam(ctx context.Context, name string) (string, bool)
}

// ExportOptions say what an export covers and how it describes itself.
type ExportOptions struct {
	// Since leaves out incidents created before it; zero: every incident.
	Since         time.Time
	SiteURL       string
	PluginVersion string
	// Settings are the plugin's settings with the secrets removed (JSON).
	Settings []byte
	// Batch is how many incidents are read before the export yields; 0:
	// exportBatch.
	Batch int
}

// exportBatch bounds the incidents an export holds in memory at once.
const exportBatch = 50

// incidentDocs name the documents that belong to one incident and travel
// with it: action items, hotfixes, the runbook checklist, the stats
// summary. Pages, timers and follow-up state are live machinery of the
// server that ran them and stay behind.
var incidentDocs = []func(id string) string{actionsDoc, hotfixDoc, checklistDoc, summaryDoc}

// sharedDocs are the documents of the whole plugin that an archive
// carries besides the runbooks.
var sharedDocs = []string{rotaDoc, groupsDoc}

// ExportArchive writes every incident created since opt.Since, with its
// timeline and documents, the rota, the sign-off groups and the runbooks
// into a new archive, made by create once the actor may export, and the
// directory of every id they mention. Only system admins may. It reads in
// batches, exportReaders incidents at a time, each after yielding to live
// work, so that responders barely share the store with it.
func (a *App) ExportArchive(ctx context.Context, actor string, create func() (archive.Writer, error), opt ExportOptions) (archive.Meta, error) {
	if a.names == nil {
		return archive.Meta{}, errors.New("export archive: not configured")
	}
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return archive.Meta{}, incident.Forbiddenf("only system admins can export the incident archive")
	}
	ids, err := a.store.IncidentIDsSince(ctx, opt.Since)
	if err != nil {
		return archive.Meta{}, err
	}
	w, err := create()
	if err != nil {
		return archive.Meta{}, err
	}
	finished := false
	defer func() {
		if !finished {
			w.Abort()
		}
	}()
	batch := opt.Batch
	if batch <= 0 {
		batch = exportBatch
	}
	began := time.Now()
	docs, err := a.incidentDocNames(ctx)
	if err != nil {
		return archive.Meta{}, err
	}
	structural := map[string]string{} // ids whose kind the records say: "channel", "team"
	for start := 0; start < len(ids); start += batch {
		read, err := a.readForExport(ctx, ids[start:min(start+batch, len(ids))], opt.Since, docs)
		if err != nil {
			return archive.Meta{}, err
		}
		for _, x := range read {
			if x.inc == nil {
				continue
			}
			if err := w.AddIncident(ctx, x.inc, x.events); err != nil {
				return archive.Meta{}, err
			}
			for _, d := range x.docs {
				if err := w.AddDoc(ctx, d.name, d.raw); err != nil {
					return archive.Meta{}, err
				}
			}
			structural[x.inc.ChannelID], structural[x.inc.TeamID] = "channel", "team"
		}
	}
	if err := a.exportSharedDocs(ctx, w); err != nil {
		return archive.Meta{}, err
	}
	read := time.Since(began)
	dir := a.describe(ctx, w.Mentioned(), structural)
	described := time.Since(began) - read
	by := actor
	if u, ok := a.names.DescribeUser(ctx, actor); ok {
		by = u.Username
	}
	meta, err := w.Finish(archive.Meta{ExportedAt: a.now().UTC(), ExportedBy: by, Since: opt.Since, SiteURL: opt.SiteURL, PluginVersion: opt.PluginVersion}, dir, opt.Settings)
	if err != nil {
		return archive.Meta{}, err
	}
	finished = true
	a.log.Info().Int("incidents", meta.Incidents).Int("events", meta.Events).Dur("read", read).Dur("directory", described).
		Dur("written", time.Since(began)-read-described).Msg("incident archive written")
	return meta, nil
}

// exportReaders is how many incidents an export reads at once. The
// store's calls are round trips to the server, so two readers nearly halve
// the time an export takes, while it never has more than two calls in
// flight; each reader also yields to live work before each incident.
const exportReaders = 2

// exported is one incident read for an export; inc nil: skip it.
type exported struct {
	inc    *incident.Incident
	events []incident.Event
	docs   []namedDoc
}

type namedDoc struct {
	name string
	raw  []byte
}

// readForExport reads the incidents ids (those created since since) with
// their timelines and the documents of theirs that docs names, in order.
func (a *App) readForExport(ctx context.Context, ids []string, since time.Time, docs map[string]bool) ([]exported, error) {
	out := make([]exported, len(ids))
	err := a.eachYielding(ctx, len(ids), exportReaders, func(i int) (err error) {
		out[i], err = a.readOneForExport(ctx, ids[i], since, docs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *App) readOneForExport(ctx context.Context, id string, since time.Time, docs map[string]bool) (exported, error) {
	inc, err := a.store.GetIncident(ctx, id)
	if errors.Is(err, incident.ErrNotFound) {
		return exported{}, nil // an index names a record that is gone: skip it
	}
	if err != nil || inc.CreatedAt.Before(since) {
		return exported{}, err
	}
	events, err := a.store.Timeline(ctx, id)
	if err != nil {
		return exported{}, err
	}
	x := exported{inc: inc, events: events}
	for _, doc := range incidentDocs {
		name := doc(id)
		if !docs[name] {
			continue
		}
		raw, err := a.store.GetDoc(ctx, name)
		if err != nil {
			return exported{}, err
		}
		if raw != nil {
			x.docs = append(x.docs, namedDoc{name, raw})
		}
	}
	return x, nil
}

// incidentDocNames lists the incidents' documents that exist, so that an
// export reads those and no absent ones: one list call per thousand keys
// instead of a read per kind of document and incident.
func (a *App) incidentDocNames(ctx context.Context) (map[string]bool, error) {
	list, err := a.store.DocNames(ctx, "") // one walk of the keys, not one per kind
	if err != nil {
		return nil, fmt.Errorf("export archive: %w", err)
	}
	prefixes := make([]string, len(incidentDocs))
	for i, doc := range incidentDocs {
		prefixes[i] = doc("")
	}
	names := map[string]bool{}
	for _, n := range list {
		for _, prefix := range prefixes {
			if strings.HasPrefix(n, prefix) {
				names[n] = true
			}
		}
	}
	return names, nil
}

func (a *App) exportDoc(ctx context.Context, w archive.Writer, name string) error {
	raw, err := a.store.GetDoc(ctx, name)
	if err != nil || raw == nil {
		return err
	}
	return w.AddDoc(ctx, name, raw)
}

// exportSharedDocs adds the rotas (the first, and the directory and
// documents of the others), the sign-off groups and every runbook that is
// not removed, with all its versions.
func (a *App) exportSharedDocs(ctx context.Context, w archive.Writer) error {
	for _, name := range sharedDocs {
		if err := a.exportDoc(ctx, w, name); err != nil {
			return err
		}
	}
	if d, ok, err := loadDoc[rotaDirectory](ctx, a.store, rotasDoc); err != nil {
		return fmt.Errorf("export rotas: %w", err)
	} else if ok {
		if err := a.exportDoc(ctx, w, rotasDoc); err != nil {
			return err
		}
		for _, e := range d.Rotas {
			if e.Doc != rotaDoc {
				if err := a.exportDoc(ctx, w, e.Doc); err != nil {
					return err
				}
			}
		}
	}
	idx, _, err := loadDoc[runbookIndex](ctx, a.store, runbookIndexDoc)
	if err != nil {
		return fmt.Errorf("export runbooks: %w", err)
	}
	if len(idx.Names) == 0 {
		return nil
	}
	if err := a.exportDoc(ctx, w, runbookIndexDoc); err != nil {
		return err
	}
	for _, name := range idx.Names {
		h, ok, err := loadDoc[runbookHead](ctx, a.store, runbookHeadDoc(name))
		if err != nil {
			return fmt.Errorf("export runbook %s: %w", name, err)
		}
		if !ok {
			continue
		}
		if err := a.exportDoc(ctx, w, runbookHeadDoc(name)); err != nil {
			return err
		}
		for v := 1; v <= h.Version; v++ {
			if err := a.exportDoc(ctx, w, runbookVersionDoc(name, v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// describe names every mentioned id that is a user, channel or team here.
// Ids of posts (and anything else id-shaped) are named by nothing and
// left out; the records say which ids are channels and teams.
func (a *App) describe(ctx context.Context, ids []string, kinds map[string]string) *archive.Directory {
	dir := archive.NewDirectory()
	for _, id := range ids {
		switch kinds[id] {
		case "channel":
			if c, ok := a.names.DescribeChannel(ctx, id); ok {
				dir.Channels[id] = c
			}
			continue
		case "team":
			if t, ok := a.names.DescribeTeam(ctx, id); ok {
				dir.Teams[id] = t
			}
			continue
		}
		if u, ok := a.names.DescribeUser(ctx, id); ok {
			dir.Users[id] = u
		} else if c, ok := a.names.DescribeChannel(ctx, id); ok {
			dir.Channels[id] = c
		} else if t, ok := a.names.DescribeTeam(ctx, id); ok {
			dir.Teams[id] = t
		}
	}
	return dir
}

// ArchiveFileName is the name an export is offered under.
func ArchiveFileName(at time.Time) string {
	return "incidents-" + at.UTC().Format("2006-01-02-1504") + ".incidents"
}
