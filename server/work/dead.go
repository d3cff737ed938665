package work

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// Dead letters: work that failed MaxTries times in a row is set aside here,
// so that it holds up nothing else, and kept until an admin retries or
// drops it. A subject set aside whole (its record cannot be read, its
// handler always fails) has no Body; an item of a subject (one follow-up of
// an incident, say) carries what it owed, so that a retry can owe it again.
const (
	deadName = "work/v3/dead"
	// maxDead bounds the letters kept; past it the oldest go, written in
	// full to the server log.
	maxDead = 500
)

// DeadLetter is one piece of work set aside.
type DeadLetter struct {
	// N numbers the letters; admins retry or drop by number.
	N    int64  `json:"n"`
	Kind string `json:"kind"`
	Key  string `json:"key"`
	// Item names the part of the subject set aside ("" = all of it).
	Item  string    `json:"item,omitempty"`
	Error string    `json:"error"`
	Tries int       `json:"tries"`
	At    time.Time `json:"at"`
	// Body is what the item owed, for a retry.
	Body json.RawMessage `json:"body,omitempty"`
}

// Ref names the letter for people: "incident abc123, follow-up 4".
func (d DeadLetter) Ref() string {
	s := d.Kind + " " + d.Key
	if d.Item != "" {
		s += ", " + d.Item
	}
	return s
}

type deadDoc struct {
	Next    int64        `json:"next"`
	Letters []DeadLetter `json:"letters"`
}

// SetAside stores d as a new dead letter and tells OnDead, unless a
// letter for the same subject and item is kept already: nodes that ran
// the same failing entry at once both come here, and the admins are told
// once.
func (e *Engine) SetAside(ctx context.Context, d DeadLetter) error {
	d.At = e.clock.Now().UTC()
	var dropped []DeadLetter
	kept := false
	_, _, err := cas.Update(ctx, e.docs, deadName, func(doc *deadDoc, _ bool) error {
		dropped = nil
		kept = slices.ContainsFunc(doc.Letters, func(x DeadLetter) bool { return x.Kind == d.Kind && x.Key == d.Key && x.Item == d.Item })
		if kept {
			return cas.ErrUnchanged
		}
		doc.Next++
		d.N = doc.Next
		doc.Letters = append(doc.Letters, d)
		if over := len(doc.Letters) - maxDead; over > 0 {
			dropped = slices.Clone(doc.Letters[:over])
			doc.Letters = slices.Delete(doc.Letters, 0, over)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store dead letter %s: %w", d.Ref(), err)
	}
	if kept {
		return nil
	}
	for _, old := range dropped {
		e.log.Error().Int64("n", old.N).Str("kind", old.Kind).Str("key", old.Key).Str("item", old.Item).Str("error", old.Error).
			RawJSON("body", orNull(old.Body)).Msg("dead letter dropped: too many are kept; this line is its only record")
	}
	e.log.Error().Int64("n", d.N).Str("kind", d.Kind).Str("key", d.Key).Str("item", d.Item).Int("tries", d.Tries).Str("error", d.Error).
		Msg("work set aside after failing too often")
	if e.opts.OnDead != nil {
		e.opts.OnDead(ctx, d)
	}
	return nil
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// DeadLetters returns the letters kept, oldest first.
func (e *Engine) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	doc, _, err := cas.Load[deadDoc](ctx, e.docs, deadName)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return doc.Letters, nil
}

// TakeDeadLetter removes letter n and returns it: the caller retries it
// (for a whole subject, Schedule it; for an item, owe it again) or drops
// it. ok is false when there is no such letter.
func (e *Engine) TakeDeadLetter(ctx context.Context, n int64) (d DeadLetter, ok bool, err error) {
	_, _, err = cas.Update(ctx, e.docs, deadName, func(doc *deadDoc, _ bool) error {
		i := slices.IndexFunc(doc.Letters, func(x DeadLetter) bool { return x.N == n })
		if i < 0 {
			ok = false
			return cas.ErrUnchanged
		}
		d, ok = doc.Letters[i], true
		doc.Letters = slices.Delete(doc.Letters, i, i+1)
		return nil
	})
	if err != nil {
		return DeadLetter{}, false, fmt.Errorf("take dead letter %d: %w", n, err)
	}
	return d, ok, nil
}
