// Package kvtest has a plugin KV store for tests and benchmarks that counts
// what is asked of it (calls, bytes) and can be made to fail: the cost of a
// path is measured in KV calls, the unit the real server pays for.
package kvtest

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// Counting wraps a KV (a pluginapi.MemoryStore from New), counts calls and
// bytes, and can inject failures: Intercept, when set, sees every Set first
// and may answer it; GetErr may fail a Get.
type Counting struct {
	KV kvstore.KV

	gets, sets, deletes, lists, read, written atomic.Int64

	mu        sync.Mutex
	intercept func(key string, opts pluginapi.KVSetOptions) (handled, ok bool, err error)
	getErr    func(key string) error
	failIn    int64 // the failIn-th Set from now fails; 0: none
	landed    bool  // ... after it was applied
}

// ErrInjected is the error of a write failed by FailWrite.
var ErrInjected = errors.New("kvtest: injected write failure")

// FailWrite makes the n-th Set from now fail with ErrInjected, once; with
// landed the write is applied first, as when the database committed and
// the answer was lost. n 0 clears it.
func (c *Counting) FailWrite(n int64, landed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failIn, c.landed = n, landed
}

var _ kvstore.KV = (*Counting)(nil)

// New returns a Counting over an empty in-memory KV.
func New() *Counting { return &Counting{KV: &pluginapi.MemoryStore{}} }

// Intercept sets (nil: clears) the function that sees every Set first; when
// it reports handled, its answer is the Set's and the KV is not written.
func (c *Counting) Intercept(f func(key string, opts pluginapi.KVSetOptions) (handled, ok bool, err error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.intercept = f
}

// FailGets sets (nil: clears) the function that may fail a Get.
func (c *Counting) FailGets(f func(key string) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.getErr = f
}

// Get implements kvstore.KV.
func (c *Counting) Get(key string, o any) error {
	c.gets.Add(1)
	c.mu.Lock()
	getErr := c.getErr
	c.mu.Unlock()
	if getErr != nil {
		if err := getErr(key); err != nil {
			return err
		}
	}
	if err := c.KV.Get(key, o); err != nil {
		return err
	}
	if b, ok := o.(*[]byte); ok {
		c.read.Add(int64(len(*b)))
	}
	return nil
}

// Set implements kvstore.KV.
func (c *Counting) Set(key string, value any, opts ...pluginapi.KVSetOption) (bool, error) {
	c.sets.Add(1)
	switch v := value.(type) {
	case nil:
	case []byte:
		c.written.Add(int64(len(v)))
	default:
		b, _ := json.Marshal(v)
		c.written.Add(int64(len(b)))
	}
	c.mu.Lock()
	intercept := c.intercept
	fail, landed := false, c.landed
	if c.failIn > 0 {
		c.failIn--
		fail = c.failIn == 0
	}
	c.mu.Unlock()
	if fail {
		if landed {
			_, _ = c.KV.Set(key, value, opts...)
		}
		return false, ErrInjected
	}
	if intercept != nil {
		var o pluginapi.KVSetOptions
		for _, f := range opts {
			f(&o)
		}
		if handled, ok, err := intercept(key, o); handled {
			return ok, err
		}
	}
	return c.KV.Set(key, value, opts...)
}

// Delete implements kvstore.KV.
func (c *Counting) Delete(key string) error {
	c.deletes.Add(1)
	return c.KV.Delete(key)
}

// ListKeys implements kvstore.KV.
func (c *Counting) ListKeys(page, count int, options ...pluginapi.ListKeysOption) ([]string, error) {
	c.lists.Add(1)
	return c.KV.ListKeys(page, count, options...)
}

// Counts are what was asked of the KV: calls of each kind, and the bytes of
// values read and written.
type Counts struct{ Gets, Sets, Deletes, Lists, Read, Written int64 }

// Calls is the number of KV calls.
func (c Counts) Calls() int64 { return c.Gets + c.Sets + c.Deletes + c.Lists }

// Snapshot returns the counts so far.
func (c *Counting) Snapshot() Counts {
	return Counts{c.gets.Load(), c.sets.Load(), c.deletes.Load(), c.lists.Load(), c.read.Load(), c.written.Load()}
}

// Since returns the counts since before.
func (c *Counting) Since(before Counts) Counts {
	now := c.Snapshot()
	return Counts{now.Gets - before.Gets, now.Sets - before.Sets, now.Deletes - before.Deletes, now.Lists - before.Lists, now.Read - before.Read, now.Written - before.Written}
}
