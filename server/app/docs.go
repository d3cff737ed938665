package app

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// docAttempts bounds the read-modify-write loop on one document; the store's
// compare-and-set makes each try safe, the bound only stops a livelock.
const docAttempts = 50

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
	for attempt := 0; attempt < docAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(1+rand.IntN(2<<min(attempt, 6)))*time.Millisecond); err != nil {
				return nil, false, err
			}
		}
		old, err := d.GetDoc(ctx, name)
		if err != nil {
			return nil, false, err
		}
		v := new(T)
		if old != nil {
			if err := json.Unmarshal(old, v); err != nil {
				return nil, false, fmt.Errorf("decode %s: %w", name, err)
			}
		}
		var next []byte
		if err := mutate(v, old != nil); errors.Is(err, errUnchanged) || errors.Is(err, errDelete) && old == nil {
			return v, false, nil
		} else if errors.Is(err, errDelete) {
			next = nil
		} else if err != nil {
			return nil, false, err
		} else if next, err = json.Marshal(v); err != nil {
			return nil, false, fmt.Errorf("encode %s: %w", name, err)
		}
		ok, err := d.CompareAndSetDoc(ctx, name, old, next)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return v, true, nil
		}
	}
	return nil, false, incident.Conflictf("%s: too many concurrent changes, try again", name)
}

// claimToken returns a random token that makes a claim's bytes unique, so
// that a compare-and-set on a claim only ever matches the writer that made
// it (page sends, alert claims).
func claimToken() string {
	var b [12]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
