package kvstore

import (
	"sync"
	"time"
)

// recent remembers the bytes of the incident records this process read or
// wrote lately, so that an update right after a read (a command reads the
// incident, then changes it) starts its compare-and-set from them instead
// of reading the record again. The bytes are only a first guess: a record
// changed meanwhile by anyone makes that compare-and-set fail, and the
// update reads and tries again as it always did.
type recent struct {
	mu  sync.Mutex
	m   map[string]recentRecord
	now func() time.Time // the store's clock (see WithClock)
}

type recentRecord struct {
	raw []byte
	at  time.Time
}

const (
	// recentFresh is how long remembered bytes are worth a try as the
	// start of a compare-and-set.
	recentFresh = 2 * time.Second
	// recentRead is how long remembered bytes stand in for a read: a read
	// right after this process wrote or read the record (a change, then
	// its worker) is that record. The store's reads may be as stale as a
	// read replica's anyway (see incident.Store); writes never trust them.
	recentRead = 250 * time.Millisecond
	// recentMax bounds what is remembered.
	recentMax = 4096
)

func (r *recent) put(id string, raw []byte) {
	if raw == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]recentRecord{}
	}
	if len(r.m) >= recentMax {
		now := r.now()
		for k, v := range r.m {
			if now.Sub(v.at) > recentFresh {
				delete(r.m, k)
			}
		}
		if len(r.m) >= recentMax {
			clear(r.m)
		}
	}
	r.m[id] = recentRecord{raw: raw, at: r.now()}
}

// get returns the remembered bytes of id, if younger than fresh.
func (r *recent) get(id string, fresh time.Duration) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[id]
	if !ok || r.now().Sub(v.at) > fresh {
		return nil
	}
	return v.raw
}

// remember is put for documents, whose absence (nil) is worth
// remembering too.
func (r *recent) remember(key string, raw []byte) {
	if raw == nil {
		raw = absent
	}
	r.put(key, raw)
}

// lookup is get for documents: ok with nil raw is a document known absent.
func (r *recent) lookup(key string, fresh time.Duration) (raw []byte, ok bool) {
	raw = r.get(key, fresh)
	switch {
	case raw == nil:
		return nil, false
	case len(raw) == 0:
		return nil, true
	}
	return raw, true
}

// absent stands for a document known not to exist: no document is empty.
var absent = []byte{}

func (r *recent) forget(id string) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

// tails remembers, per incident, the last timeline chunk this process
// wrote (its number and bytes): the first guess of the next append.
type tails struct {
	mu  sync.Mutex
	m   map[string]tail
	now func() time.Time // the store's clock (see WithClock)
}

type tail struct {
	k   int
	raw []byte
	at  time.Time
}

func (t *tails) put(id string, k int, raw []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= recentMax {
		t.m = map[string]tail{}
	}
	t.m[id] = tail{k: k, raw: raw, at: t.now()}
}

func (t *tails) get(id string) (int, []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[id]
	if !ok || t.now().Sub(v.at) > recentFresh {
		return 0, nil
	}
	return v.k, v.raw
}

func (t *tails) forget(id string) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}
