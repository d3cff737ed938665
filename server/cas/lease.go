package cas

import (
	crand "crypto/rand"
	"encoding/hex"
	"time"
)

// Lease guards a record against two workers: it lives in the record and
// is written with compare-and-set together with the record's state. The
// rule for taking one over is package work's (its package comment says it
// in full); this is only the stored part.
type Lease struct {
	// Owner is the holder's token ("" when free): random per run.
	Owner string `json:"owner,omitempty"`
	// Fence rises with every take, never falls: the fencing number.
	Fence int64 `json:"fence,omitempty"`
	// Beat rises with every renewal: what watchers watch.
	Beat int64 `json:"beat,omitempty"`
	// At is the holder's clock at its last take or renewal, for people
	// reading the record; the rule never compares it across nodes.
	At time.Time `json:"at,omitzero"`
}

// Held reports whether someone holds the lease.
func (l Lease) Held() bool { return l.Owner != "" }

// HeldBy reports whether owner holds the lease.
func (l Lease) HeldBy(owner string) bool { return owner != "" && l.Owner == owner }

// Take makes owner the holder, with a new fence.
func (l *Lease) Take(owner string, now time.Time) {
	l.Owner, l.Fence, l.Beat, l.At = owner, l.Fence+1, 0, now
}

// Renew records that the holder is alive.
func (l *Lease) Renew(now time.Time) { l.Beat, l.At = l.Beat+1, now }

// Release frees the lease; the fence stays, so the next take is higher.
func (l *Lease) Release() { l.Owner, l.Beat, l.At = "", 0, time.Time{} }

// NewOwner returns a fresh owner token.
func NewOwner() string {
	var b [12]byte
	_, _ = crand.Read(b[:]) // never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
