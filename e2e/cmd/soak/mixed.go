package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// load is what one run of mixed load measured.
type load struct {
	start, update, ack, echo, click sample
	// delivered: an accepted update's reply to its post in the broadcast
	// channel.
	delivered sample

	starts, startErrors                      atomic.Int64
	updates, accepted, refused, updateErrors atomic.Int64
	acks, ackErrors, clicks, clickErrors     atomic.Int64
	mu                                       sync.Mutex
	errors                                   map[string]int // distinct failures, for the notes
	acceptedAt                               map[string]time.Time
	seenAt                                   map[string]time.Time // token -> broadcast post seen
	tokenIncident                            map[string]string
	refusedTokens                            map[string]bool
	missingAfterEnd, onTimelines             int
	cpu, calls, handlers                     string
	problems                                 []string // the plugin's warnings and errors in the server log
}

func newLoad() *load {
	return &load{errors: map[string]int{}, acceptedAt: map[string]time.Time{}, seenAt: map[string]time.Time{},
		tokenIncident: map[string]string{}, refusedTokens: map[string]bool{}}
}

func (l *load) fail(what string, err error, reply string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := reply
	if err != nil {
		msg = err.Error()
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	l.errors[what+": "+msg]++
}

// tokenOf finds the first update token in text.
func tokenOf(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\n' || r == '*' || r == '_' || r == '`' }) {
		if strings.HasPrefix(f, "soaktok") {
			out = append(out, strings.TrimRight(f, ".,:;)"))
		}
	}
	return out
}

// rates paces the mixed load: the starts and updates per second all the
// users offer together; 0 is as fast as answers come (each user's next
// call the moment the last is answered).
type rates struct{ starts, updates float64 }

// mixed runs the mixed load for d at the offered rates and reports it.
func (b *bench) mixed(ctx context.Context, r *report, d time.Duration, offered rates) error {
	l, err := b.runLoad(ctx, d, 2, 3, 6, true, offered)
	if err != nil {
		return err
	}
	secs := d.Seconds()
	r.add("starts / updates offered per second", "%s / %s", rateText(offered.starts), rateText(offered.updates))
	r.add("starts / updates answered per second", "%.1f / %.1f", float64(l.starts.Load())/secs, float64(l.updates.Load())/secs)
	r.add("`/incident start` median / p99", "%s", l.start.summary())
	r.add("`/incident update` median / p99", "%s", l.update.summary())
	r.add("page Acknowledge click median / p99", "%s", l.ack.summary())
	r.add("card Post update click the moment the card appears, median / p99", "%s", l.click.summary())
	r.add("`/echo` (server baseline) median / p99", "%s", l.echo.summary())
	r.add("updates refused as busy", "%d of %d", l.refused.Load(), l.updates.Load())
	r.add("errors: start / update / ack / card click", "%d / %d / %d / %d of %d / %d / %d / %d", l.startErrors.Load(), l.updateErrors.Load(),
		l.ackErrors.Load(), l.clickErrors.Load(), l.starts.Load(), l.updates.Load(), l.acks.Load(), l.clicks.Load())
	r.add("accepted update → its broadcast post, median / p99 (during the load)", "%s", l.delivered.summary())
	r.add("accepted updates not yet in the broadcast channel 5 s after the load", "%d", l.missingAfterEnd)
	r.add("accepted updates on their incident's timeline (checked afterwards)", "%d of %d", l.onTimelines, l.accepted.Load())
	r.add("CPU during the load, % of one core (2 cores: 200%)", "%s", l.cpu)
	r.add("plugin API calls during the load (per second, mean time)", "%s", l.calls)
	r.add("plugin entry points during the load (per second, mean time inside the plugin)", "%s", l.handlers)
	b.noteErrors(r, l)
	return nil
}

// burst has people updating one incident at once, as fast as they can.
func (b *bench) burst(ctx context.Context, r *report, people, each int) error {
	inc, err := b.fill(ctx, 1, 1, "burst")
	if err != nil {
		return err
	}
	chID, err := b.channelID(ctx, inc[0])
	if err != nil {
		return err
	}
	for _, u := range b.updaters[:people] {
		if _, _, err := b.srv.Admin.Client.AddChannelMember(ctx, chID, u.Id); err != nil {
			return err
		}
	}
	l := newLoad()
	observer, err := b.observeBroadcast(ctx, l)
	if err != nil {
		return err
	}
	defer observer.Close()
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, u := range b.updaters[:people] {
		wg.Go(func() {
			for n := range each {
				b.update(ctx, l, u, chID, inc[0].id, fmt.Sprintf("soaktok-b%d-%d", i, n))
			}
		})
	}
	wg.Wait()
	took := time.Since(t0)
	if err := b.awaitDelivery(ctx, l); err != nil {
		return err
	}
	if err := b.checkTimelines(ctx, l); err != nil {
		return err
	}
	r.add("updates refused as busy", "%d of %d (all sent in %s)", l.refused.Load(), l.updates.Load(), took.Round(time.Millisecond))
	r.add("`/incident update` median / p99", "%s", l.update.summary())
	r.add("errors", "%d", l.updateErrors.Load())
	r.add("accepted updates on the timeline", "%d of %d", l.onTimelines, l.accepted.Load())
	r.add("accepted update → its broadcast post, median / p99", "%s", l.delivered.summary())
	b.noteErrors(r, l)
	return nil
}

func (b *bench) noteErrors(r *report, l *load) {
	keys := make([]string, 0, len(l.errors))
	for k := range l.errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.note("%dx %s", l.errors[k], k)
	}
	for _, p := range l.problems {
		r.note("plugin log: %s", p)
	}
}

// runLoad runs starters, updaters (into targets open incidents) and the
// acknowledging first line for d, with /echo beside them; withClicks
// presses Post update on every new card as soon as it is seen.
func (b *bench) runLoad(ctx context.Context, d time.Duration, starters, updaters, targets int, withClicks bool, offered rates) (*load, error) {
	l := newLoad()
	logFrom := harness.LogSize(b.srv.LogPath)
	open, err := b.fill(ctx, targets, 2, "mixed target")
	if err != nil {
		return nil, err
	}
	var channels []string
	for _, s := range open {
		id, err := b.channelID(ctx, s)
		if err != nil {
			return nil, err
		}
		channels = append(channels, id)
		for _, u := range b.updaters[:updaters] {
			if _, _, err := b.srv.Admin.Client.AddChannelMember(ctx, id, u.Id); err != nil {
				return nil, err
			}
		}
	}

	observer, err := b.observeBroadcast(ctx, l)
	if err != nil {
		return nil, err
	}
	defer observer.Close()

	cpuFrom := b.cpuNow(ctx)
	loadCtx, stop := context.WithTimeout(ctx, d)
	defer stop()
	var wg sync.WaitGroup

	// The first line acknowledges each page the moment it arrives.
	l1 := b.holders["l1"]
	acker, err := b.srv.Watch(ctx, l1)
	if err != nil {
		return nil, err
	}
	defer acker.Close()
	var ackOnce sync.Map
	acker.OnSeen(func(s harness.Seen) {
		if s.Kind != model.WebsocketEventPosted || !isPage(s.Post, "") || s.Post.UserId != b.botID {
			return
		}
		pageID, _ := s.Post.GetProp("page_id").(string)
		if _, dup := ackOnce.LoadOrStore(pageID, true); dup || loadCtx.Err() != nil {
			return
		}
		wg.Go(func() {
			t0 := time.Now()
			_, err := b.srv.ClickButton(ctx, l1, s.Post.Id, "ackpage")
			l.acks.Add(1)
			if err != nil {
				l.ackErrors.Add(1)
				l.fail("ack", err, "")
				return
			}
			l.ack.add(time.Since(t0))
		})
	})

	// The starters press Post update on each new card the moment it
	// appears, as someone eager does.
	if withClicks {
		for _, u := range b.starters[:starters] {
			w, err := b.srv.Watch(ctx, u)
			if err != nil {
				return nil, err
			}
			defer w.Close()
			var once sync.Map
			w.OnSeen(func(s harness.Seen) {
				if s.Kind != model.WebsocketEventPosted || s.Post.UserId != b.botID || loadCtx.Err() != nil {
					return
				}
				id, ok := isCard(s.Post)
				if !ok {
					return
				}
				if _, dup := once.LoadOrStore(id, true); dup {
					return
				}
				wg.Go(func() {
					l.clicks.Add(1)
					t0 := time.Now()
					if _, err := b.srv.ClickButton(ctx, u, s.Post.Id, "update"); err != nil {
						l.clickErrors.Add(1)
						l.fail("card Post update click", err, "")
						return
					}
					l.click.add(time.Since(t0))
				})
			})
		}
	}

	for i, u := range b.starters[:starters] {
		wg.Go(func() {
			next := paced(offered.starts / float64(starters))
			for n := 0; next(loadCtx) == nil; n++ {
				_, took, err := b.start(loadCtx, u, fmt.Sprintf("Soak %d-%d-%d --severity S3", b.seq.Add(1), i, n))
				if loadCtx.Err() != nil && err != nil {
					return
				}
				l.starts.Add(1)
				if err != nil {
					l.startErrors.Add(1)
					l.fail("start", err, "")
					continue
				}
				l.start.add(took)
			}
		})
	}
	for i, u := range b.updaters[:updaters] {
		wg.Go(func() {
			next := paced(offered.updates / float64(updaters))
			for n := 0; next(loadCtx) == nil; n++ {
				k := (i + n) % len(open)
				b.update(loadCtx, l, u, channels[k], open[k].id, fmt.Sprintf("soaktok-u%d-%d", i, n))
			}
		})
	}
	wg.Go(func() {
		for loadCtx.Err() == nil {
			_, took, err := b.command(loadCtx, b.echo, b.srv.TownSquare.Id, "/echo soak")
			if err == nil {
				l.echo.add(took)
			}
			_ = sleep(loadCtx, 100*time.Millisecond)
		}
	})
	<-loadCtx.Done()
	cpuTo := b.cpuNow(ctx)
	l.cpu, l.calls, l.handlers = cpuSince(cpuFrom, cpuTo), callsSince(cpuFrom, cpuTo), handlersSince(cpuFrom, cpuTo)
	wg.Wait()
	if err := b.awaitDelivery(ctx, l); err != nil {
		return nil, err
	}
	if err := b.checkTimelines(ctx, l); err != nil {
		return nil, err
	}
	l.problems = b.problems(logFrom)
	return l, nil
}

// observeBroadcast has the admin watch the broadcast channel and note when
// each update's post arrives there.
func (b *bench) observeBroadcast(ctx context.Context, l *load) (*harness.Watcher, error) {
	w, err := b.srv.Watch(ctx, b.srv.Admin)
	if err != nil {
		return nil, err
	}
	w.OnSeen(func(s harness.Seen) {
		if s.Kind != model.WebsocketEventPosted || s.Post.ChannelId != b.broadcast.Id {
			return
		}
		l.mu.Lock()
		for _, tok := range tokenOf(s.Post.Message + " " + harness.PostText(s.Post)) {
			if _, ok := l.seenAt[tok]; !ok {
				l.seenAt[tok] = s.At
			}
		}
		l.mu.Unlock()
	})
	return w, nil
}

// update posts one status update carrying tok and records what came of it.
func (b *bench) update(ctx context.Context, l *load, u *harness.User, channelID, incidentID, tok string) {
	reply, took, err := b.command(ctx, u, channelID, "/incident update "+tok+" service degraded, still investigating")
	if ctx.Err() != nil && err != nil {
		return // cut off by the end of the load
	}
	l.updates.Add(1)
	switch {
	case err != nil:
		l.updateErrors.Add(1)
		l.fail("update", err, "")
	case strings.Contains(reply.Text, "try again"):
		l.refused.Add(1)
		l.mu.Lock()
		l.refusedTokens[tok] = true
		l.mu.Unlock()
		l.fail("update refused", nil, reply.Text)
	case !strings.Contains(reply.Text, "posted"):
		l.updateErrors.Add(1)
		l.fail("update", nil, reply.Text)
	default:
		l.accepted.Add(1)
		l.update.add(took)
		l.mu.Lock()
		l.acceptedAt[tok] = time.Now()
		l.tokenIncident[tok] = incidentID
		l.mu.Unlock()
	}
}

// awaitDelivery waits (up to 2 minutes) until every accepted update has
// its broadcast post, counting those still missing 5 s after the load,
// then fills the delivered sample.
func (b *bench) awaitDelivery(ctx context.Context, l *load) error {
	end := time.Now()
	missing := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for tok := range l.acceptedAt {
			if _, ok := l.seenAt[tok]; !ok {
				n++
			}
		}
		return n
	}
	_ = waitFor(ctx, 5*time.Second, 50*time.Millisecond, func() (bool, error) { return missing() == 0, nil })
	if time.Since(end) >= 5*time.Second {
		l.missingAfterEnd = missing()
	}
	_ = waitFor(ctx, 2*time.Minute, 100*time.Millisecond, func() (bool, error) { return missing() == 0, nil })
	l.mu.Lock()
	defer l.mu.Unlock()
	for tok, at := range l.acceptedAt {
		if seen, ok := l.seenAt[tok]; ok {
			if seen.Before(end) {
				l.delivered.add(seen.Sub(at))
			}
		} else {
			l.errors["update never reached the broadcast channel"]++
		}
	}
	return nil
}

// checkTimelines counts the accepted updates found on their incidents'
// timelines, reading the stored chunks; a refused update found there is an
// error.
func (b *bench) checkTimelines(ctx context.Context, l *load) error {
	byIncident := map[string][]string{}
	l.mu.Lock()
	for tok, id := range l.tokenIncident {
		byIncident[id] = append(byIncident[id], tok)
	}
	refused := l.refusedTokens
	l.mu.Unlock()
	for id, toks := range byIncident {
		text, err := b.timelineText(ctx, id)
		if err != nil {
			return err
		}
		for _, tok := range toks {
			switch n := strings.Count(text, tok+" "); {
			case n == 1:
				l.onTimelines++
			case n > 1:
				l.fail("timeline", nil, fmt.Sprintf("update %s is on the timeline %d times", tok, n))
			}
		}
		for tok := range refused {
			if strings.Contains(text, tok+" ") {
				l.fail("timeline", nil, "a refused update is on the timeline: "+tok)
			}
		}
	}
	return nil
}

// timelineText is every stored timeline chunk of incident id, as text.
func (b *bench) timelineText(ctx context.Context, id string) (string, error) {
	return b.srv.SQL(ctx, fmt.Sprintf(`SELECT convert_from(pvalue, 'UTF8') FROM pluginkeyvaluestore
		WHERE pluginid = '%s' AND pkey LIKE 'tl/%%/%s/%%' AND pkey NOT LIKE '%%/h'`, pluginID, id))
}

// paced returns a func that waits for a user's next call at perSecond
// calls a second, on a fixed schedule from the first call (a late answer
// makes the next call go at once, not the schedule slip); 0: no wait. It
// returns ctx's error once ctx ends.
func paced(perSecond float64) func(context.Context) error {
	var due time.Time
	return func(ctx context.Context) error {
		if err := ctx.Err(); err != nil || perSecond <= 0 {
			return err
		}
		now := time.Now()
		if due.IsZero() {
			due = now
		}
		if wait := due.Sub(now); wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		}
		due = due.Add(time.Duration(float64(time.Second) / perSecond))
		return nil
	}
}

func rateText(perSecond float64) string {
	if perSecond <= 0 {
		return "as fast as answered"
	}
	return strconv.FormatFloat(perSecond, 'f', -1, 64)
}
