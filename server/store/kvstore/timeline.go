package kvstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// A timeline is a run of chunks, each holding up to chunkEvents events. A
// chunk is sealed by the append that fills it (chunkEvents events, or
// chunkBytes of encoded events, so that a run of long notes does not make
// every compare-and-set ship hundreds of kilobytes); nobody appends to a
// sealed chunk, and the next event starts chunk k+1 at Seq base+len. The
// seal is stored, not derived from these constants, so nodes running
// plugin versions with different limits still agree on every Seq.
//
// The head key names the last chunk. It is advanced after a chunk is
// started and only as a hint: appenders and readers step past a sealed
// chunk to the next one, so a head left behind by a crash costs a read or
// two until the next append repairs it.
const (
	chunkEvents = 32
	chunkBytes  = 32 << 10
	// readers fetches this many chunks at once when reading a timeline; KV
	// reads are RPCs to the server, so latency, not throughput, dominates.
	readers = 8
)

// chunk is the stored form of one timeline chunk. Events stay raw: an
// append neither decodes nor re-encodes the events already there.
type chunk struct {
	Base   int               `json:"b"` // Seq of Events[0]
	Sealed bool              `json:"s,omitempty"`
	Events []json.RawMessage `json:"e"`
}

func (c *chunk) next() int { return c.Base + len(c.Events) }

func decodeChunk(k int, raw []byte) (*chunk, error) {
	var c chunk
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("decode chunk %d: %w", k, err)
	}
	return &c, nil
}

// plus returns c with e added (at Seq c.next()) and its encoding, sealed
// if that fills it; oldSize is the encoded size of c. c itself is
// unchanged.
func (c *chunk) plus(e incident.Event, oldSize int) (*chunk, []byte, incident.Event, error) {
	n, raw, out, err := c.plusAll([]incident.Event{e}, oldSize, nil)
	if err != nil {
		return nil, nil, e, err
	}
	return n, raw, out[0], nil
}

// plusAll adds events to c, in order, until they run out or the chunk is
// sealed, and returns the new chunk, its encoding and the events it took
// (with their Seqs). A keyed event already in c or in before (the sealed
// chunk c follows, when there is one) is taken as stored, not added
// again. c itself is unchanged.
func (c *chunk) plusAll(events []incident.Event, oldSize int, before *chunk) (*chunk, []byte, []incident.Event, error) {
	have, err := keyedIn(events, c, before)
	if err != nil {
		return nil, nil, nil, err
	}
	n := &chunk{Base: c.Base, Events: slices.Clip(c.Events)}
	size := oldSize
	var took []incident.Event
	for _, e := range events {
		if stored, ok := have[e.Key]; ok && e.Key != "" {
			took = append(took, stored)
			continue
		}
		e.Seq = n.next()
		ev, err := json.Marshal(e)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encode event: %w", err)
		}
		n.Events = append(n.Events, ev)
		took = append(took, e)
		if e.Key != "" && have != nil {
			have[e.Key] = e
		}
		if n.Sealed = len(n.Events) >= chunkEvents || size+len(ev) >= chunkBytes; n.Sealed {
			break
		}
		size += len(ev) + 1 // the event and its comma, near enough: the seal is stored
	}
	raw, err := json.Marshal(n)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode chunk: %w", err)
	}
	return n, raw, took, nil
}

// keyedIn returns the keyed events of the chunks, by key, when one of
// events has a key (nil otherwise: nothing to look for).
func keyedIn(events []incident.Event, chunks ...*chunk) (map[string]incident.Event, error) {
	if !slices.ContainsFunc(events, func(e incident.Event) bool { return e.Key != "" }) {
		return nil, nil
	}
	have := map[string]incident.Event{}
	for _, c := range chunks {
		if c == nil {
			continue
		}
		for i, raw := range c.Events {
			var e incident.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("decode event %d: %w", c.Base+i, err)
			}
			if e.Key != "" {
				e.Seq = c.Base + i
				have[e.Key] = e
			}
		}
	}
	return have, nil
}

// put writes c plus as many of events as it takes as chunk k, if chunk k
// still holds old exactly (nil: if it is absent), and returns the events
// it took, with their Seqs. before is the sealed chunk k-1, when the
// caller read it (see plusAll). When every event taken was stored
// already, nothing is written (wrote is false).
func (s *Store) put(id string, k int, old []byte, c *chunk, events []incident.Event, before *chunk) (ok, wrote bool, took []incident.Event, err error) {
	n, value, took, err := c.plusAll(events, len(old), before)
	if err != nil {
		return false, false, nil, err
	}
	if len(n.Events) == len(c.Events) {
		return true, false, took, nil
	}
	ok, err = s.swap(chunkKey(id, k), old, value)
	switch {
	case err != nil || !ok:
		s.tails.forget(id)
	case n.Sealed:
		s.tails.forget(id)
	default:
		s.tails.put(id, k, value)
	}
	return ok, ok, took, err
}

// head tracks what this process knows of a timeline's head key, so that it
// can advance it with compare-and-set.
type head struct {
	chunk int
	raw   []byte // nil: the key is absent, which means chunk 0
	known bool   // false once a write shows someone else moved it
}

func (s *Store) readHead(id string) (head, error) {
	raw, err := s.get(timelineHeadKey(id))
	if err != nil {
		return head{}, err
	}
	h := head{raw: raw, known: true}
	if raw != nil {
		if h.chunk, err = strconv.Atoi(string(raw)); err != nil || h.chunk < 0 {
			return head{}, fmt.Errorf("decode the timeline head of #%s: %q is not a chunk number", id, raw)
		}
	}
	return h, nil
}

// advance moves the head from h.chunk to to, if it is still where h saw it.
// Errors are dropped on purpose: the head is only a hint, the event it
// follows has landed, and failing the append now would make the caller
// retry and add the event twice.
func (s *Store) advance(id string, h *head, to int) {
	if !h.known || h.chunk != to-1 {
		return
	}
	raw := []byte(strconv.Itoa(to))
	if ok, err := s.swap(timelineHeadKey(id), h.raw, raw); err != nil || !ok {
		h.known = false
		return
	}
	h.chunk, h.raw = to, raw
}

// AppendEvent implements incident.Store: AppendEvents of one event.
func (s *Store) AppendEvent(ctx context.Context, incidentID string, e incident.Event) (incident.Event, error) {
	out, err := s.AppendEvents(ctx, incidentID, []incident.Event{e})
	if err != nil {
		return incident.Event{}, err
	}
	return out[0], nil
}

// AppendEvents implements incident.Store. In the common case it costs three
// KV calls for the whole batch (read head, read last chunk, compare-and-set
// that chunk); each chunk it starts costs two more; the first events of a
// timeline also read the incident to refuse a timeline for an incident
// that does not exist.
func (s *Store) AppendEvents(ctx context.Context, incidentID string, events []incident.Event) ([]incident.Event, error) {
	id := incidentID
	if checkID(id) != nil {
		return nil, notFound(id)
	}
	if len(events) == 0 {
		return nil, nil
	}
	what := "add to the timeline of #" + id
	// The last chunk as this process last wrote it: usually still the
	// last, since an incident's worker does most of its appends, and then
	// the batch costs one call.
	if k, raw := s.tails.get(id); raw != nil {
		if c, err := decodeChunk(k, raw); err == nil && !c.Sealed {
			ok, _, took, err := s.put(id, k, raw, c, events, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			if ok && len(took) == len(events) {
				return took, nil
			}
			if ok { // the chunk filled: the rest go on as usual
				more, err := s.AppendEvents(ctx, incidentID, events[len(took):])
				return append(took, more...), err
			}
		}
	}
	h, err := s.readHead(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var (
		k       = h.chunk
		out     []incident.Event
		checked bool
	)
	// try lands some of the events left (at least one, when it reports
	// done): a batch that fills a chunk goes on in the next.
	try := func(left []incident.Event) ([]incident.Event, error) {
		raw, err := s.get(chunkKey(id, k))
		if err != nil {
			return nil, err
		}
		var before *chunk // the sealed chunk walked past last
		for raw != nil {
			c, err := decodeChunk(k, raw)
			if err != nil {
				return nil, err
			}
			if !c.Sealed {
				ok, _, took, err := s.put(id, k, raw, c, left, before)
				if err != nil || !ok {
					return nil, err
				}
				return took, nil
			}
			next, err := s.get(chunkKey(id, k+1))
			if err != nil {
				return nil, err
			}
			if next == nil {
				ok, wrote, took, err := s.put(id, k+1, nil, &chunk{Base: c.next()}, left, c)
				if err != nil {
					return nil, err
				}
				if !wrote && ok {
					return took, nil // every event was in chunk k already
				}
				k++ // won or lost, chunk k+1 exists now
				if !ok {
					return nil, nil
				}
				s.advance(id, &h, k)
				return took, nil
			}
			k++
			s.advance(id, &h, k)
			raw, before = next, c
		}
		// Only chunk 0 can be absent, and only while the timeline is empty.
		if k != 0 {
			return nil, fmt.Errorf("chunk %d is missing", k)
		}
		if !checked {
			inc, _, err := s.readIncident(id)
			if err != nil {
				return nil, err
			}
			if inc == nil {
				return nil, notFound(id)
			}
			checked = true
		}
		ok, _, took, err := s.put(id, 0, nil, &chunk{}, left, nil)
		if err != nil || !ok {
			return nil, err
		}
		return took, nil
	}
	for len(out) < len(events) {
		err = s.retry(ctx, what, func() (bool, error) {
			took, err := try(events[len(out):])
			if err != nil && incident.KindOf(err) == incident.KindInternal {
				err = fmt.Errorf("%s: %w", what, err)
			}
			out = append(out, took...)
			return len(took) > 0, err
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Timeline implements incident.Store. It reads the head, then chunks 0 to
// head (several at a time), then any chunk past a lagging head: one read
// per chunk plus one or two.
func (s *Store) Timeline(ctx context.Context, incidentID string) ([]incident.Event, error) {
	id := incidentID
	if checkID(id) != nil {
		return nil, notFound(id)
	}
	what := "read the timeline of #" + id
	h, err := s.readHead(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	raws, err := s.readChunks(ctx, id, h.chunk+1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if raws[0] == nil && h.chunk == 0 {
		inc, _, err := s.readIncident(id)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if inc == nil {
			return nil, notFound(id)
		}
		return []incident.Event{}, nil
	}

	var events []incident.Event
	var prev *chunk
	for k := 0; ; k++ {
		if k >= len(raws) {
			if !prev.Sealed {
				break
			}
			raw, err := s.get(chunkKey(id, k))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			if raw == nil {
				break
			}
			raws = append(raws, raw)
		}
		if raws[k] == nil {
			return nil, fmt.Errorf("%s: chunk %d is missing", what, k)
		}
		c, err := decodeChunk(k, raws[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if prev != nil && (!prev.Sealed || c.Base != prev.next()) {
			return nil, fmt.Errorf("%s: chunk %d (from seq %d) does not follow chunk %d (sealed %t, %d events)", what, k, c.Base, k-1, prev.Sealed, prev.next())
		}
		for i, raw := range c.Events {
			var e incident.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("%s: decode event %d: %w", what, c.Base+i, err)
			}
			e.Seq = c.Base + i
			events = append(events, e)
		}
		prev = c
	}
	return events, nil
}

// readChunks reads chunks 0 to n-1 of a timeline, several at a time; an
// absent chunk is nil.
func (s *Store) readChunks(ctx context.Context, id string, n int) ([][]byte, error) {
	keys := make([]string, n)
	for k := range keys {
		keys[k] = chunkKey(id, k)
	}
	return s.readAll(ctx, keys)
}

// deleteTimeline removes every chunk, the last first, then the head, so a
// delete cut short leaves a head that still leads to what remains.
func (s *Store) deleteTimeline(id string) error {
	h, err := s.readHead(id)
	if err != nil {
		return err
	}
	last := h.chunk
	for {
		raw, err := s.get(chunkKey(id, last+1))
		if err != nil {
			return err
		}
		if raw == nil {
			break
		}
		last++
	}
	for k := last; k >= 0; k-- {
		if err := s.delete(chunkKey(id, k)); err != nil {
			return err
		}
	}
	return s.delete(timelineHeadKey(id))
}

// TimelineTail implements incident.Store. It finds the last chunk from the
// head (stepping past a lagging head) and reads back from there: the head,
// plus one read per chunk it returns events from.
func (s *Store) TimelineTail(ctx context.Context, incidentID string, n int) ([]incident.Event, error) {
	id := incidentID
	if checkID(id) != nil {
		return nil, notFound(id)
	}
	what := "read the end of the timeline of #" + id
	h, err := s.readHead(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	k := h.chunk
	raw, err := s.get(chunkKey(id, k))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if raw == nil {
		if k != 0 {
			return nil, fmt.Errorf("%s: chunk %d is missing", what, k)
		}
		if inc, _, err := s.readIncident(id); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		} else if inc == nil {
			return nil, notFound(id)
		}
		return []incident.Event{}, nil
	}
	c, err := decodeChunk(k, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for c.Sealed { // the head lags: step to the last chunk
		next, err := s.get(chunkKey(id, k+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if next == nil {
			break
		}
		k++
		if c, err = decodeChunk(k, next); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	var rev []incident.Event // newest first
	for n > 0 {
		for i := len(c.Events) - 1; i >= 0 && len(rev) < n; i-- {
			var e incident.Event
			if err := json.Unmarshal(c.Events[i], &e); err != nil {
				return nil, fmt.Errorf("%s: decode event %d: %w", what, c.Base+i, err)
			}
			e.Seq = c.Base + i
			rev = append(rev, e)
		}
		if len(rev) >= n || k == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		k--
		raw, err := s.get(chunkKey(id, k))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if raw == nil {
			return nil, fmt.Errorf("%s: chunk %d is missing", what, k)
		}
		if c, err = decodeChunk(k, raw); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	slices.Reverse(rev)
	if rev == nil {
		rev = []incident.Event{}
	}
	return rev, nil
}
