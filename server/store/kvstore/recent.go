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
//
// What a read or a write leaves is kept only if nothing of this process
// wrote or forgot the key since it began (see mark, putRead, putWrite): a
// read that started before a write and finished after it must not replace
// the newer bytes, and of two writes that raced, the one remembered last
// is not always the one that landed last.
type recent struct {
	mu  sync.Mutex
	m   map[string]recentRecord
	now func() time.Time // the store's clock (see WithClock)
	seq uint64           // counts what put and forget did
}

type recentRecord struct {
	raw []byte // nil: forgotten (kept so that a read begun before learns it)
	at  time.Time
	seq uint64
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

// mark is taken before a read of the store: see putRead.
func (r *recent) mark() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// putRead remembers raw, read from the store by a read begun at mark,
// unless this process wrote or forgot id since.
func (r *recent) putRead(id string, raw []byte, mark uint64) {
	if raw == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.m[id]; ok && v.seq > mark {
		return
	}
	r.set(id, raw)
}

// putWrite remembers raw, just written to the store by a write begun at
// mark; when this process wrote or forgot id meanwhile, which of the two
// landed last is unknown, so id is forgotten instead.
func (r *recent) putWrite(id string, raw []byte, mark uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.m[id]; ok && v.seq > mark {
		raw = nil
	}
	r.set(id, raw)
}

// set stores raw (nil: forgotten) for id; r.mu is held.
func (r *recent) set(id string, raw []byte) {
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
	r.seq++
	r.m[id] = recentRecord{raw: raw, at: r.now(), seq: r.seq}
}

// get returns the remembered bytes of id, if younger than fresh.
func (r *recent) get(id string, fresh time.Duration) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[id]
	if !ok || v.raw == nil || r.now().Sub(v.at) > fresh {
		return nil
	}
	return v.raw
}

// rememberWrite is putWrite for documents, whose absence (nil) is worth
// remembering too.
func (r *recent) rememberWrite(key string, raw []byte, mark uint64) {
	if raw == nil {
		raw = absent
	}
	r.putWrite(key, raw, mark)
}

// rememberRead is putRead for documents (see rememberWrite).
func (r *recent) rememberRead(key string, raw []byte, mark uint64) {
	if raw == nil {
		raw = absent
	}
	r.putRead(key, raw, mark)
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
	defer r.mu.Unlock()
	r.set(id, nil)
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
