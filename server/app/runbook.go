package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// Runbook definitions live in three kinds of documents: a small index of
// names, one head per runbook holding its current version number, and one
// immutable document per version. An incident's checklist names the
// version it was made from, which therefore stays readable after the
// runbook changes or is removed.

const runbookIndexDoc = "rbdef/v1/_index"

func runbookHeadDoc(name string) string { return "rbdef/v1/" + name }
func runbookVersionDoc(name string, v int) string {
	return "rbdef/v1/" + name + "/" + strconv.Itoa(v)
}

// runbookHead is a runbook's head document.
type runbookHead struct {
	Name        string `json:"name"`
	Version     int    `json:"version"` // current version; 0 = none yet
	Description string `json:"description,omitempty"`
	// Removed runbooks keep their head, so that version numbers never
	// repeat.
	Removed bool `json:"removed,omitempty"`
}

// runbookIndex lists the names of the runbooks that are not removed.
type runbookIndex struct {
	Names []string `json:"names"`
}

// RunbookSummary is a runbook as listed.
type RunbookSummary struct {
	Name        string
	Version     int
	Description string
}

// versionTries bounds the version numbers tried when saving a runbook.
const versionTries = 20

// Runbooks lists the runbooks by name.
func (a *App) Runbooks(ctx context.Context) ([]RunbookSummary, error) {
	idx, _, err := loadDoc[runbookIndex](ctx, a.store, runbookIndexDoc)
	if err != nil {
		return nil, fmt.Errorf("read runbooks: %w", err)
	}
	var out []RunbookSummary
	for _, name := range idx.Names {
		h, ok, err := loadDoc[runbookHead](ctx, a.store, runbookHeadDoc(name))
		if err != nil {
			return nil, fmt.Errorf("read runbook %s: %w", name, err)
		}
		if ok && !h.Removed && h.Version > 0 {
			out = append(out, RunbookSummary{Name: name, Version: h.Version, Description: h.Description})
		}
	}
	return out, nil
}

// Runbook returns the current version of runbook name.
func (a *App) Runbook(ctx context.Context, name string) (*runbook.Definition, error) {
	name, err := runbook.CleanName(name)
	if err != nil {
		return nil, err
	}
	h, ok, err := loadDoc[runbookHead](ctx, a.store, runbookHeadDoc(name))
	if err != nil {
		return nil, fmt.Errorf("read runbook %s: %w", name, err)
	}
	if !ok || h.Removed || h.Version == 0 {
		return nil, incident.NotFoundf("no runbook %q: `/incident runbook list` shows them", name)
	}
	return a.RunbookVersion(ctx, name, h.Version)
}

// RunbookVersion returns version v of runbook name.
func (a *App) RunbookVersion(ctx context.Context, name string, v int) (*runbook.Definition, error) {
	d, ok, err := loadDoc[runbook.Definition](ctx, a.store, runbookVersionDoc(name, v))
	if err != nil {
		return nil, fmt.Errorf("read runbook %s version %d: %w", name, v, err)
	}
	if !ok {
		return nil, incident.NotFoundf("runbook %q has no version %d", name, v)
	}
	return d, nil
}

// SetRunbook saves a new version of runbook name (system and rota admins).
// The Markdown is checked first; a bad one changes nothing.
func (a *App) SetRunbook(ctx context.Context, actor, name, description, markdown string) (*runbook.Definition, error) {
	if !a.mayEditRota(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins and rota admins may change runbooks; `/incident runbook list` shows them")
	}
	return a.saveRunbook(ctx, actor, name, description, markdown)
}

func (a *App) saveRunbook(ctx context.Context, actor, name, description, markdown string) (*runbook.Definition, error) {
	d, err := runbook.NewDefinition(name, description, markdown, actor, a.now())
	if err != nil {
		return nil, err
	}
	h, _, err := loadDoc[runbookHead](ctx, a.store, runbookHeadDoc(d.Name))
	if err != nil {
		return nil, fmt.Errorf("read runbook %s: %w", d.Name, err)
	}
	// The version document first, insert-only: the head never names a
	// version that is not stored, and two saves never share a number.
	for try, v := 0, h.Version+1; ; try, v = try+1, v+1 {
		if try == versionTries {
			return nil, incident.Conflictf("runbook %s: too many concurrent changes, try again", d.Name)
		}
		d.Version = v
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		ok, err := a.store.CompareAndSetDoc(ctx, runbookVersionDoc(d.Name, v), nil, b)
		if err != nil {
			return nil, fmt.Errorf("store runbook %s version %d: %w", d.Name, v, err)
		}
		if ok {
			break
		}
	}
	if _, _, err := updateDoc(ctx, a.store, runbookHeadDoc(d.Name), func(h *runbookHead, _ bool) error {
		if h.Version > d.Version {
			return errUnchanged // a later save won
		}
		h.Name, h.Version, h.Description, h.Removed = d.Name, d.Version, d.Description, false
		return nil
	}); err != nil {
		return nil, fmt.Errorf("store runbook %s: %w", d.Name, err)
	}
	if err := a.indexRunbook(ctx, d.Name, true); err != nil {
		return nil, err
	}
	a.log.Info().Str("actor", actor).Str("runbook", d.Name).Int("version", d.Version).Msg("runbook saved")
	return &d, nil
}

// RemoveRunbook removes runbook name (admins). Incidents following it keep
// their version.
func (a *App) RemoveRunbook(ctx context.Context, actor, name string) error {
	if !a.mayEditRota(ctx, actor) {
		return incident.Forbiddenf("only system admins and rota admins may change runbooks")
	}
	name, err := runbook.CleanName(name)
	if err != nil {
		return err
	}
	_, _, err = updateDoc(ctx, a.store, runbookHeadDoc(name), func(h *runbookHead, exists bool) error {
		if !exists || h.Removed {
			return incident.NotFoundf("no runbook %q: `/incident runbook list` shows them", name)
		}
		h.Removed = true
		return nil
	})
	if err != nil {
		return err
	}
	a.log.Info().Str("actor", actor).Str("runbook", name).Msg("runbook removed")
	return a.indexRunbook(ctx, name, false)
}

func (a *App) indexRunbook(ctx context.Context, name string, add bool) error {
	_, _, err := updateDoc(ctx, a.store, runbookIndexDoc, func(idx *runbookIndex, _ bool) error {
		i, found := slices.BinarySearch(idx.Names, name)
		switch {
		case add && !found:
			idx.Names = slices.Insert(idx.Names, i, name)
		case !add && found:
			idx.Names = slices.Delete(idx.Names, i, i+1)
		default:
			return errUnchanged
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index runbook %s: %w", name, err)
	}
	return nil
}

// MayEditRunbooks reports whether actor may change runbooks: system admins
// and rota admins.
func (a *App) MayEditRunbooks(ctx context.Context, actor string) bool {
	return a.mayEditRota(ctx, actor)
}
