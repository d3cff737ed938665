package archive

import (
	"context"
	"errors"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Writer builds an archive: add the incidents and documents, then Finish
// it with the directory of the ids it mentions (Mentioned), or Abort it.
// Package archivefile writes one as a file.
type Writer interface {
	// AddIncident adds an incident and its whole timeline, as they are.
	AddIncident(ctx context.Context, inc *incident.Incident, events []incident.Event) error
	// AddDoc adds a document under its store name.
	AddDoc(ctx context.Context, name string, raw []byte) error
	// Mentioned returns every id the added data mentions, sorted, but
	// posts': the ids the directory should name.
	Mentioned() []string
	// Finish writes the description, the directory and the settings
	// (JSON, or nil), completes the archive and returns the description
	// as written, its counts filled in.
	Finish(meta Meta, dir *Directory, settings []byte) (Meta, error)
	// Abort discards an archive that will not be finished.
	Abort()
}

// Source is an opened archive as its readers need it.
type Source struct {
	Meta      Meta
	Directory *Directory
	// Store holds the archive's incidents, timelines and documents, read
	// only.
	Store incident.Store
}

// The ways an archive can be refused. Every error of opening one wraps
// one of them and says what to do.
var (
	ErrNotArchive = errors.New("not an incident archive")
	ErrDamaged    = errors.New("the archive is damaged")
	ErrNewer      = errors.New("the archive is from a newer version")
)
