package kvstore

import (
	"bytes"
	"testing"
	"time"
)

// A read that began before this process wrote (or forgot) a key and
// finished after it does not replace what the write left: the next read
// from memory is the written bytes, or goes to the store.
func TestRecentKeepsNoReadOlderThanAWrite(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r := &recent{now: func() time.Time { return now }}

	mark := r.mark()
	r.putWrite("a", []byte("written"), r.mark())
	r.putRead("a", []byte("read before the write"), mark)
	if got := r.get("a", recentRead); !bytes.Equal(got, []byte("written")) {
		t.Errorf("after a racing read: %q, want the written bytes", got)
	}

	mark = r.mark()
	r.forget("a")
	r.putRead("a", []byte("read before the forget"), mark)
	if got := r.get("a", recentRead); got != nil {
		t.Errorf("after a forget and a racing read: %q, want nothing", got)
	}

	mark = r.mark()
	r.putRead("a", []byte("read alone"), mark)
	if got := r.get("a", recentRead); !bytes.Equal(got, []byte("read alone")) {
		t.Errorf("a read with no write meanwhile: %q", got)
	}
	now = now.Add(recentRead + time.Millisecond)
	if got := r.get("a", recentRead); got != nil {
		t.Errorf("a read older than recentRead is served: %q", got)
	}
}

// Of two writes that raced, the one remembered last need not be the one
// that landed last: the key is forgotten instead, and the next read goes
// to the store.
func TestRecentForgetsWritesThatRaced(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r := &recent{now: func() time.Time { return now }}
	first, second := r.mark(), r.mark()
	r.putWrite("a", []byte("second, landed last"), second)
	r.putWrite("a", []byte("first, remembered late"), first)
	if got := r.get("a", recentRead); got != nil {
		t.Errorf("after racing writes: %q, want nothing remembered", got)
	}
	mark := r.mark()
	r.putWrite("a", []byte("alone"), mark)
	if got := r.get("a", recentRead); !bytes.Equal(got, []byte("alone")) {
		t.Errorf("a write with nothing meanwhile: %q", got)
	}
}
