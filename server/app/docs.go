package app

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// errUnchanged, returned by a mutate function, ends an update without
// writing: the document already says what the caller wanted.
var errUnchanged = errors.New("unchanged")

// errDelete, returned by a mutate function, deletes the document.
var errDelete = errors.New("delete")

// loadDoc reads the document name into a new T; ok is false if absent.
func loadDoc[T any](ctx context.Context, d incident.Docs, name string) (v *T, ok bool, err error) {
	b, err := d.GetDoc(ctx, name)
	if err != nil {
		return nil, false, err
	}
	v = new(T)
	if b == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", name, err)
	}
	return v, true, nil
}

// updateDoc applies mutate to the current document (a zero T if absent) and
// writes it back with compare-and-set, re-reading and re-applying on a
// concurrent write; errDelete from mutate deletes it instead. mutate may run more than once and must have no side
// effects. It returns the document as stored (or as found, when mutate
// returned errUnchanged) and whether this call wrote it.
func updateDoc[T any](ctx context.Context, d incident.Docs, name string, mutate func(v *T, exists bool) error) (*T, bool, error) {
	var (
		out   *T
		wrote bool
	)
	err := cas.Default.Retry(ctx, func() (bool, error) {
		old, err := d.GetDoc(ctx, name)
		if err != nil {
			return false, err
		}
		v := new(T)
		if old != nil {
			if err := json.Unmarshal(old, v); err != nil {
				return false, fmt.Errorf("decode %s: %w", name, err)
			}
		}
		var next []byte
		if err := mutate(v, old != nil); errors.Is(err, errUnchanged) || errors.Is(err, errDelete) && old == nil {
			out, wrote = v, false
			return true, nil
		} else if errors.Is(err, errDelete) {
			next = nil
		} else if err != nil {
			return false, err
		} else if next, err = json.Marshal(v); err != nil {
			return false, fmt.Errorf("encode %s: %w", name, err)
		}
		ok, err := d.CompareAndSetDoc(ctx, name, old, next)
		out, wrote = v, ok
		return ok, err
	})
	if errors.Is(err, cas.ErrContended) {
		return nil, false, incident.Conflictf("%s: too many concurrent changes, try again", name)
	}
	if err != nil {
		return nil, false, err
	}
	return out, wrote, nil
}

// claimToken returns a random token that makes a claim's bytes unique, so
// that a compare-and-set on a claim only ever matches the writer that made
// it (page sends, alert claims).
func claimToken() string {
	var b [12]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
