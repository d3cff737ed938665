package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Seen is one post event a user was shown over the websocket, stamped when
// it arrived, or a dialog the server asked the user's client to open.
type Seen struct {
	At   time.Time
	Kind model.WebsocketEventType // WebsocketEventPosted, WebsocketEventPostEdited, WebsocketEventEphemeralMessage or WebsocketEventOpenDialog
	Post *model.Post
	// Dialog is the dialog of a WebsocketEventOpenDialog event (Post is
	// nil then).
	Dialog *model.OpenDialogRequest
}

// Watcher receives the post events one user is shown over a websocket, as
// the web app does: new posts, edits and ephemeral posts, in order. The
// REST answer of a command or a click does not show what the server
// delivers afterwards; a watcher does, and says when.
type Watcher struct {
	ws      *model.WebSocketClient
	mu      sync.Mutex
	seen    []Seen
	changed chan struct{} // closed and replaced on every event
	onSeen  []func(Seen)
}

// Watch opens a websocket to the server as u and returns once the server
// has said hello, so that nothing sent after Watch returns is missed.
func (s *Server) Watch(ctx context.Context, u *User) (*Watcher, error) {
	ws, err := model.NewWebSocketClient4("ws"+strings.TrimPrefix(s.URL, "http"), u.Client.AuthToken)
	if err != nil {
		return nil, fmt.Errorf("websocket for @%s: %w", u.Username, err)
	}
	w := &Watcher{ws: ws, changed: make(chan struct{})}
	hello := make(chan struct{})
	ws.Listen()
	go w.read(hello)
	select {
	case <-hello:
		return w, nil
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	ws.Close()
	return nil, fmt.Errorf("websocket for @%s: no hello from %s", u.Username, ws.URL)
}

func (w *Watcher) read(hello chan struct{}) {
	helloed := false
	for {
		select {
		case ev, ok := <-w.ws.EventChannel:
			if !ok {
				return
			}
			at := time.Now()
			switch kind := ev.EventType(); kind {
			case model.WebsocketEventHello:
				if !helloed {
					helloed = true
					close(hello)
				}
			case model.WebsocketEventPosted, model.WebsocketEventPostEdited, model.WebsocketEventEphemeralMessage:
				raw, _ := ev.GetData()["post"].(string)
				var p model.Post
				if json.Unmarshal([]byte(raw), &p) != nil {
					continue
				}
				w.add(Seen{At: at, Kind: kind, Post: &p})
			case model.WebsocketEventOpenDialog:
				raw, _ := ev.GetData()["dialog"].(string)
				var d model.OpenDialogRequest
				if json.Unmarshal([]byte(raw), &d) != nil {
					continue
				}
				w.add(Seen{At: at, Kind: kind, Dialog: &d})
			}
		case _, ok := <-w.ws.ResponseChannel:
			if !ok {
				return
			}
		case <-w.ws.PingTimeoutChannel:
		}
	}
}

func (w *Watcher) add(s Seen) {
	w.mu.Lock()
	w.seen = append(w.seen, s)
	hooks := w.onSeen
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	for _, f := range hooks {
		f(s)
	}
}

// OnSeen calls f for every event from now on, in the watcher's reader
// goroutine: f must return quickly (hand slow work to a goroutine).
func (w *Watcher) OnSeen(f func(Seen)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onSeen = append(w.onSeen, f)
}

// Mark is the position after the events seen so far.
func (w *Watcher) Mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// Since returns the events seen after mark.
func (w *Watcher) Since(mark int) []Seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	if mark > len(w.seen) {
		return nil
	}
	return append([]Seen(nil), w.seen[mark:]...)
}

// Wait returns the first event after mark that match accepts, waiting up to
// timeout for it.
func (w *Watcher) Wait(ctx context.Context, mark int, timeout time.Duration, match func(Seen) bool) (Seen, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		w.mu.Lock()
		for _, s := range w.seen[min(mark, len(w.seen)):] {
			if match(s) {
				w.mu.Unlock()
				return s, nil
			}
		}
		mark = len(w.seen)
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Seen{}, fmt.Errorf("no matching post event within %s: %w", timeout, ctx.Err())
		}
	}
}

// Close closes the websocket.
func (w *Watcher) Close() { w.ws.Close() }
