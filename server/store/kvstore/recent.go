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
	mu sync.Mutex
	m  map[string]recentRecord
}

type recentRecord struct {
	raw []byte
	at  time.Time
}

const (
	// recentFresh is how long remembered bytes are worth a try.
	recentFresh = 2 * time.Second
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
		now := time.Now()
		for k, v := range r.m {
			if now.Sub(v.at) > recentFresh {
				delete(r.m, k)
			}
		}
		if len(r.m) >= recentMax {
			clear(r.m)
		}
	}
	r.m[id] = recentRecord{raw: raw, at: time.Now()}
}

// get returns the remembered bytes of id, if fresh.
func (r *recent) get(id string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[id]
	if !ok || time.Since(v.at) > recentFresh {
		return nil
	}
	return v.raw
}

func (r *recent) forget(id string) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}
