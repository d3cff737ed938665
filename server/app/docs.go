package app

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The shared documents besides incidents (rota, pages, hotfixes, ...) are
// read and written with package cas: compare-and-set, keeping what a newer
// plugin version stored. These are its helpers with the app's errors.

// errUnchanged, returned by a mutate function, ends an update without
// writing: the document already says what the caller wanted.
var errUnchanged = cas.ErrUnchanged

// errDelete, returned by a mutate function, deletes the document.
var errDelete = cas.ErrDelete

// loadDoc reads the document name into a new T; ok is false if absent.
func loadDoc[T any](ctx context.Context, d incident.Docs, name string) (v *T, ok bool, err error) {
	return cas.Load[T](ctx, d, name)
}

// updateDoc applies mutate to the current document (a zero T if absent) and
// writes it back with compare-and-set (see cas.Update); too many lost races
// are a conflict the user can retry.
func updateDoc[T any](ctx context.Context, d incident.Docs, name string, mutate func(v *T, exists bool) error) (*T, bool, error) {
	return updateDocFrom(ctx, d, name, nil, mutate)
}

// updateDocFrom is updateDoc starting from raw, the document as the caller
// read it (nil: read it first).
func updateDocFrom[T any](ctx context.Context, d incident.Docs, name string, raw []byte, mutate func(v *T, exists bool) error) (*T, bool, error) {
	out, wrote, err := cas.UpdateFrom(ctx, d, name, raw, mutate)
	if errors.Is(err, cas.ErrContended) {
		return nil, false, incident.Conflictf("%s: too many concurrent changes, try again", name)
	}
	return out, wrote, err
}

// createDoc stores v as the new document name and reports whether it was
// absent (false: the name is taken, nothing was written).
func createDoc[T any](ctx context.Context, d incident.Docs, name string, v *T) (bool, error) {
	return cas.Create(ctx, d, name, v)
}

// claimToken returns a random token that makes a claim's bytes unique, so
// that a compare-and-set on a claim only ever matches the writer that made
// it (alert claims).
func claimToken() string {
	var b [12]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
