package cas

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	p := Policy{Attempts: 5, Base: time.Microsecond, Max: 10 * time.Microsecond}
	tries := 0
	if err := p.Retry(context.Background(), func() (bool, error) { tries++; return tries == 3, nil }); err != nil || tries != 3 {
		t.Errorf("won on the third try: err %v after %d tries", err, tries)
	}
	tries = 0
	if err := p.Retry(context.Background(), func() (bool, error) { tries++; return false, nil }); !errors.Is(err, ErrContended) || tries != 5 {
		t.Errorf("always lost: err %v after %d tries, want ErrContended after 5", err, tries)
	}
	boom := errors.New("boom")
	tries = 0
	if err := p.Retry(context.Background(), func() (bool, error) { tries++; return false, boom }); err != boom || tries != 1 {
		t.Errorf("an error ends the loop as is: %v after %d tries", err, tries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Retry(ctx, func() (bool, error) { t.Error("tried with a cancelled context"); return true, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestPauseGrowsAndIsBounded(t *testing.T) {
	p := Policy{Attempts: 50, Base: 2 * time.Millisecond, Max: 100 * time.Millisecond}
	for attempt, lo := range map[int]time.Duration{1: time.Millisecond, 3: 4 * time.Millisecond, 40: 50 * time.Millisecond} {
		for range 100 {
			if d := p.pause(attempt); d < lo || d > 2*lo {
				t.Fatalf("pause before try %d = %v, want %v..%v", attempt+1, d, lo, 2*lo)
			}
		}
	}
}
