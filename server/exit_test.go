package main

import (
	"sync/atomic"
	"testing"
	"time"
)

// probe answers the server version until calls reach failAfter (never if
// negative); block makes every call hang.
type probe struct {
	calls     atomic.Int32
	failAfter int32
	block     chan struct{}
}

func (p *probe) GetServerVersion() string {
	n := p.calls.Add(1)
	if p.block != nil {
		<-p.block
	}
	if p.failAfter >= 0 && n > p.failAfter {
		return ""
	}
	return "6.7.2"
}

func TestAwaitHangUpReturnsWhenTheServerHangsUp(t *testing.T) {
	p := &probe{failAfter: 3}
	t0 := time.Now()
	if !awaitHangUp(p, time.Second, time.Millisecond) {
		t.Fatal("hang-up not seen")
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		t.Errorf("took %s after the connection closed", d)
	}
	if got := p.calls.Load(); got != 4 {
		t.Errorf("calls = %d, want 4 (3 answered, 1 failed)", got)
	}
}

func TestAwaitHangUpIsBounded(t *testing.T) {
	for name, p := range map[string]*probe{
		"server keeps answering": {failAfter: -1},
		"call hangs":             {failAfter: -1, block: make(chan struct{})},
	} {
		t.Run(name, func(t *testing.T) {
			t0 := time.Now()
			if awaitHangUp(p, 50*time.Millisecond, time.Millisecond) {
				t.Fatal("reported a hang-up that did not happen")
			}
			if d := time.Since(t0); d > time.Second {
				t.Errorf("returned after %s, bound 50ms", d)
			}
			if p.block != nil {
				close(p.block)
			}
		})
	}
}

func TestSetAPIKeepsTheAPIForTheExit(t *testing.T) {
	p := &Plugin{}
	p.SetAPI(nil)
	if p.serverAPI.Load() != nil {
		t.Fatal("nil API kept")
	}
	p.awaitHangUp() // no API: returns at once
}
