package cas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Docs keeps small JSON documents under short names with compare-and-set:
// the primitive every piece of shared state is built on. incident.Store
// implements it on the plugin KV store and on bbolt.
type Docs interface {
	// GetDoc returns the document's bytes, or nil if there is none.
	GetDoc(ctx context.Context, name string) ([]byte, error)
	// CompareAndSetDoc replaces the document old with next and reports
	// whether it did: old nil means "only if absent", next nil deletes.
	CompareAndSetDoc(ctx context.Context, name string, old, next []byte) (bool, error)
}

// ErrUnchanged, returned by a mutate function, ends an update without
// writing: the document already says what the caller wanted.
var ErrUnchanged = errors.New("unchanged")

// ErrDelete, returned by a mutate function, deletes the document.
var ErrDelete = errors.New("delete")

// Load reads the document name into a new T; ok is false if it is absent
// (v is then a zero T).
func Load[T any](ctx context.Context, d Docs, name string) (v *T, ok bool, err error) {
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

// Update applies mutate to the current document (a zero T if absent) and
// writes it back with compare-and-set, re-reading and re-applying on a
// concurrent write; ErrDelete from mutate deletes it, ErrUnchanged leaves
// it. mutate may run more than once and must have no side effects. Fields
// that T does not know (a newer plugin version wrote them) are kept; a
// document of a newer format is not written at all (ErrNewerFormat). It
// returns the document as stored (or as found, after ErrUnchanged) and
// whether this call wrote it. When every try loses its race the error is
// ErrContended.
func Update[T any](ctx context.Context, d Docs, name string, mutate func(v *T, exists bool) error) (*T, bool, error) {
	return UpdateFrom(ctx, d, name, nil, mutate)
}

// UpdateFrom is Update starting from raw, the document's bytes as the
// caller last read them (nil: read them first): when nothing changed since,
// the update costs one write instead of a read and a write.
func UpdateFrom[T any](ctx context.Context, d Docs, name string, raw []byte, mutate func(v *T, exists bool) error) (*T, bool, error) {
	var (
		out   *T
		wrote bool
		first = raw != nil
	)
	err := Default.Retry(ctx, func() (bool, error) {
		old := raw
		if !first {
			var err error
			if old, err = d.GetDoc(ctx, name); err != nil {
				return false, err
			}
		}
		first = false
		v := new(T)
		if old != nil {
			if err := json.Unmarshal(old, v); err != nil {
				return false, fmt.Errorf("decode %s: %w", name, err)
			}
		}
		err := mutate(v, old != nil)
		switch {
		case errors.Is(err, ErrUnchanged), errors.Is(err, ErrDelete) && old == nil:
			out, wrote = v, false
			return true, nil
		case err != nil && !errors.Is(err, ErrDelete):
			return false, err
		}
		var next []byte
		if err == nil {
			if next, err = Encode(old, v); err != nil {
				return false, fmt.Errorf("encode %s: %w", name, err)
			}
		}
		ok, err := d.CompareAndSetDoc(ctx, name, old, next)
		out, wrote = v, ok
		return ok, err
	})
	if err != nil {
		return nil, false, err
	}
	return out, wrote, nil
}

// Create stores v as the new document name and reports whether it was
// absent (false: the name is taken, nothing was written).
func Create[T any](ctx context.Context, d Docs, name string, v *T) (bool, error) {
	b, err := Encode(nil, v)
	if err != nil {
		return false, fmt.Errorf("encode %s: %w", name, err)
	}
	return d.CompareAndSetDoc(ctx, name, nil, b)
}
