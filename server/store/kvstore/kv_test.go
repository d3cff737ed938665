package kvstore_test

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// countingKV wraps a KV, counts calls and bytes written, and can inject
// failures: intercept, when set, sees every Set first and may answer it.
type countingKV struct {
	kv kvstore.KV

	gets, sets, deletes, written atomic.Int64

	mu        sync.Mutex
	intercept func(key string, opts pluginapi.KVSetOptions) (handled, ok bool, err error)
	getErr    func(key string) error
}

func newCountingKV() *countingKV { return &countingKV{kv: &pluginapi.MemoryStore{}} }

func (c *countingKV) Get(key string, o any) error {
	c.gets.Add(1)
	c.mu.Lock()
	getErr := c.getErr
	c.mu.Unlock()
	if getErr != nil {
		if err := getErr(key); err != nil {
			return err
		}
	}
	return c.kv.Get(key, o)
}

func (c *countingKV) Set(key string, value any, opts ...pluginapi.KVSetOption) (bool, error) {
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
	c.mu.Unlock()
	if intercept != nil {
		var o pluginapi.KVSetOptions
		for _, f := range opts {
			f(&o)
		}
		if handled, ok, err := intercept(key, o); handled {
			return ok, err
		}
	}
	return c.kv.Set(key, value, opts...)
}

func (c *countingKV) Delete(key string) error {
	c.deletes.Add(1)
	return c.kv.Delete(key)
}

type counts struct{ gets, sets, deletes, written int64 }

func (c *countingKV) snapshot() counts {
	return counts{c.gets.Load(), c.sets.Load(), c.deletes.Load(), c.written.Load()}
}

func (c *countingKV) since(before counts) counts {
	now := c.snapshot()
	return counts{now.gets - before.gets, now.sets - before.sets, now.deletes - before.deletes, now.written - before.written}
}
