package schedule

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/rs/zerolog"
)

// memKV is the part of the plugin API the cluster package uses, in memory:
// one instance shared by several jobs stands for the KV store of a cluster.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKV) KVSetWithOptions(key string, value []byte, o model.PluginKVSetOptions) (bool, *model.AppError) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur, exists := k.m[key]
	if o.Atomic {
		if o.OldValue == nil && exists || o.OldValue != nil && (!exists || !bytes.Equal(cur, o.OldValue)) {
			return false, nil
		}
	}
	if value == nil {
		delete(k.m, key)
	} else {
		k.m[key] = bytes.Clone(value)
	}
	return true, nil
}

func (k *memKV) KVGet(key string) ([]byte, *model.AppError) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return bytes.Clone(k.m[key]), nil
}

func (k *memKV) KVDelete(key string) *model.AppError {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return nil
}

func (k *memKV) KVList(int, int) ([]string, *model.AppError) { return nil, nil }
func (k *memKV) LogError(string, ...any)                     {}

// Two nodes' jobs over one KV store: ticks run one at a time, each with a
// live context, and both jobs close promptly.
func TestTickRunsOnceAtATimeAcrossNodes(t *testing.T) {
	kv := &memKV{m: map[string][]byte{}}
	var running, ran, overlaps atomic.Int32
	tick := func(ctx context.Context) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		if ctx.Err() != nil {
			t.Error("tick got a dead context")
		}
		time.Sleep(2 * time.Millisecond) // a tick that does some work
		ran.Add(1)
	}
	var jobs []*Job
	for range 2 {
		j, err := StartTick(kv, 10*time.Millisecond, tick, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ran.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for _, j := range jobs {
		if err := j.Close(5 * time.Second); err != nil {
			t.Error(err)
		}
	}
	if ran.Load() < 5 || overlaps.Load() != 0 {
		t.Errorf("%d ticks, %d overlapping", ran.Load(), overlaps.Load())
	}
	if _, ok := kv.m["cron_"+TickKey]; !ok {
		t.Errorf("no job metadata under cron_%s: %v", TickKey, kv.m)
	}
}

func TestTickPanicIsContained(t *testing.T) {
	kv := &memKV{m: map[string][]byte{}}
	var ran atomic.Int32
	j, err := StartTick(kv, time.Hour, func(context.Context) {
		ran.Add(1)
		panic("bug")
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ran.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := j.Close(5 * time.Second); err != nil || ran.Load() != 1 {
		t.Errorf("close: %v after %d ticks", err, ran.Load())
	}
}

func TestCloseGivesUpOnAStuckTick(t *testing.T) {
	kv := &memKV{m: map[string][]byte{}}
	started, release := make(chan struct{}), make(chan struct{})
	j, err := StartTick(kv, time.Hour, func(context.Context) {
		close(started)
		<-release
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := j.Close(50 * time.Millisecond); err != ErrCloseTimeout {
		t.Errorf("close of a stuck job = %v, want ErrCloseTimeout", err)
	}
	close(release)
	if err := j.Close(5 * time.Second); err != nil {
		t.Errorf("close after the tick ended = %v", err)
	}
}
