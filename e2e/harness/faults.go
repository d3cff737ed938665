package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Fault injection on the real server's database, for tests of what the
// plugin does when PostgreSQL is slow or stops answering:
//
//   - Server.DB is a TCP proxy in the test process between Mattermost and
//     its PostgreSQL. Every Mattermost process of the server, and of the
//     nodes started from it, connects through it (their config's
//     SqlSettings.DataSource names the proxy). SetLatency delays every
//     chunk Mattermost writes to PostgreSQL (a query, a transaction's
//     BEGIN or COMMIT, a connection's start-up) by the given time, in order
//     per connection; SetLatency(0) ends the window. Replies are not
//     delayed. At latency 0 the proxy costs a copy.
//   - Server.PausePostgres stops every process of the throwaway cluster
//     (SIGSTOP) until the returned resume func (or Stop) continues them
//     (SIGCONT): connections stay open, queries simply hang.
//
// What the harness and tests run themselves goes around both only where it
// does not use the cluster's processes: Server.DataSource and Server.SQL
// reach PostgreSQL directly (no latency), but a paused cluster answers
// nobody.

// DBProxy is the latency-injecting TCP proxy between a server's Mattermost
// processes and its PostgreSQL.
type DBProxy struct {
	ln       net.Listener
	upstream string // PostgreSQL's host:port
	latency  atomic.Int64

	mu     sync.Mutex
	conns  map[*proxyConn]struct{}
	closed bool
	done   chan struct{} // closed by close
	wg     sync.WaitGroup
	ctx    context.Context // cancelled by close: ends dials in progress
	cancel context.CancelFunc
}

// startDBProxy listens on a free loopback port and forwards every
// connection to upstream.
func startDBProxy(upstream string) (*DBProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("database proxy: listen: %w", err)
	}
	p := &DBProxy{ln: ln, upstream: upstream, conns: map[*proxyConn]struct{}{}, done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *DBProxy) Addr() string { return p.ln.Addr().String() }

// DataSource is the DSN of the server's database through the proxy: what
// Mattermost connects with. A test that wants its own queries to see the
// latency uses it; Server.DataSource goes direct.
func (p *DBProxy) DataSource() string { return dataSourceAt(p.Addr()) }

// SetLatency delays every chunk written to PostgreSQL from now on by d
// (0: no delay). Chunks already waiting keep the delay they got; a
// connection's chunks stay in order, so a chunk written right after
// SetLatency(0) on a connection that still has delayed ones queued waits
// for them.
func (p *DBProxy) SetLatency(d time.Duration) {
	p.latency.Store(int64(max(d, 0)))
}

// Latency is the delay SetLatency last set.
func (p *DBProxy) Latency() time.Duration { return time.Duration(p.latency.Load()) }

// Connections is the number of connections open through the proxy.
func (p *DBProxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// close stops accepting, closes every connection and waits until all of
// the proxy's goroutines have ended.
func (p *DBProxy) close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.cancel()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.teardown()
	}
	p.wg.Wait()
	return err
}

func (p *DBProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			// Out of file descriptors or the like: try again, as
			// net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// proxyConn is one client connection and its upstream connection.
type proxyConn struct {
	client, server net.Conn
	once           sync.Once
	gone           chan struct{} // closed by teardown
}

func (c *proxyConn) teardown() {
	c.once.Do(func() {
		close(c.gone)
		_ = c.client.Close()
		if c.server != nil {
			_ = c.server.Close()
		}
	})
}

// chunk is what one read from the client returned, and when it may be
// forwarded.
type chunk struct {
	data []byte
	due  time.Time
}

func (p *DBProxy) serve(client net.Conn) {
	defer p.wg.Done()
	c := &proxyConn{client: client, gone: make(chan struct{})}
	dialer := net.Dialer{Timeout: 10 * time.Second}
	server, err := dialer.DialContext(p.ctx, "tcp", p.upstream)
	if err != nil {
		_ = client.Close()
		return
	}
	c.server = server
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.teardown()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		c.teardown()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()

	// client -> server: a reader stamps each chunk with its due time, a
	// writer forwards the chunks in order once due. The queue keeps the
	// reader reading while the writer waits, so that every chunk is
	// delayed by the latency from its own arrival, not from the one
	// before it.
	queue := make(chan chunk, 256)
	var inner sync.WaitGroup
	inner.Add(2)
	go func() {
		defer inner.Done()
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := client.Read(buf)
			if n > 0 {
				select {
				case queue <- chunk{data: buf[:n], due: time.Now().Add(p.Latency())}:
				case <-c.gone:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer inner.Done()
		for ch := range queue {
			if wait := time.Until(ch.due); wait > 0 {
				timer := time.NewTimer(wait)
				select {
				case <-timer.C:
				case <-c.gone:
					timer.Stop()
					return
				}
			}
			if _, err := server.Write(ch.data); err != nil {
				c.teardown()
				return
			}
		}
		// The client is done writing: pass that on, and let the server
		// close its side, which ends the copy below.
		if tc, ok := server.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		} else {
			c.teardown()
		}
	}()
	// server -> client, undelayed. When the server is done, so is the
	// connection.
	_, _ = io.Copy(client, server)
	c.teardown()
	inner.Wait()
}

// --- pausing the cluster -------------------------------------------------------

// pgPause is a paused cluster: the processes stopped.
type pgPause struct {
	pids []int
}

// PausePostgres stops (SIGSTOP) every process of the server's PostgreSQL
// cluster, the postmaster and all its descendants, and returns once all
// are stopped. Until resumed, connections stay open but nothing answers:
// Mattermost's queries hang, new connections get no reply, and so do
// Server.SQL and direct connections of tests. resume continues them
// (SIGCONT); it is safe to call more than once, and Stop calls it, so a
// paused cluster never outlives its server. Only the server that owns the
// database (not a node) can pause it, and only one pause at a time.
func (s *Server) PausePostgres() (resume func() error, err error) {
	if s.pg == nil || s.pg.cmd == nil || s.pg.cmd.Process == nil {
		return nil, errors.New("pause postgres: this server has no database of its own (pause it through the server that owns it)")
	}
	s.pauseMu.Lock()
	defer s.pauseMu.Unlock()
	if s.paused != nil {
		return nil, errors.New("pause postgres: already paused")
	}
	p, err := s.pg.pause()
	if err != nil {
		return nil, err
	}
	s.paused = p
	return func() error {
		s.pauseMu.Lock()
		defer s.pauseMu.Unlock()
		if s.paused != p {
			return nil // resumed already (by an earlier call or Stop)
		}
		s.paused = nil
		return s.pg.resume(p)
	}, nil
}

// resumePostgres continues a paused cluster, if any.
func (s *Server) resumePostgres() error {
	s.pauseMu.Lock()
	defer s.pauseMu.Unlock()
	if s.paused == nil || s.pg == nil {
		return nil
	}
	p := s.paused
	s.paused = nil
	return s.pg.resume(p)
}

// pause stops the postmaster first, so that it forks no new backends, then
// every descendant, and waits until each is stopped.
func (p *postgres) pause() (*pgPause, error) {
	select {
	case <-p.done:
		return nil, errors.New("pause postgres: it is not running")
	default:
	}
	master := p.cmd.Process.Pid
	pz := &pgPause{}
	stopped := map[int]bool{}
	stop := func(pid int) error {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("pause postgres: SIGSTOP %d: %w", pid, err)
		}
		stopped[pid] = true
		pz.pids = append(pz.pids, pid)
		return nil
	}
	fail := func(err error) (*pgPause, error) {
		_ = p.resume(pz)
		return nil, err
	}
	if err := stop(master); err != nil {
		return fail(err)
	}
	// Once the postmaster is stopped (not merely signalled) it forks no
	// more; a fork it was in the middle of has completed.
	if err := waitStopped([]int{master}); err != nil {
		return fail(err)
	}
	for {
		var fresh []int
		for _, pid := range descendants(master) {
			if !stopped[pid] {
				if err := stop(pid); err != nil {
					return fail(err)
				}
				fresh = append(fresh, pid)
			}
		}
		if len(fresh) == 0 {
			break
		}
		if err := waitStopped(fresh); err != nil {
			return fail(err)
		}
	}
	return pz, nil
}

// resume continues every process pause stopped, and any descendant of the
// postmaster still stopped.
func (p *postgres) resume(pz *pgPause) error {
	pids := append([]int(nil), pz.pids...)
	if p.cmd != nil && p.cmd.Process != nil {
		pids = append(pids, descendants(p.cmd.Process.Pid)...)
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("resume postgres: SIGCONT %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// waitStopped waits until each pid is stopped (state T) or gone.
func waitStopped(pids []int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var running []int
		for _, pid := range pids {
			if state, _, ok := procStat(pid); ok && state != 'T' && state != 't' && state != 'Z' && state != 'X' {
				running = append(running, pid)
			}
		}
		if len(running) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pause postgres: processes %v not stopped 5 s after SIGSTOP", running)
		}
		time.Sleep(time.Millisecond)
	}
}

// descendants lists the live processes below pid, from /proc.
func descendants(root int) []int {
	children := map[int][]int{}
	for _, pid := range processes(func(int) bool { return true }) {
		fields := procStatFields(pid)
		if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// dataSourceAt is the DSN of the test database at host:port.
func dataSourceAt(addr string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable&connect_timeout=10", dbRole, dbPassword, addr, dbName)
}

// minTimerEnv lowers the plugin's minimum durations (escalation timeouts,
// re-notification, update cadence) so that tests can use seconds; plugin
// processes inherit it from the server. An INCIDENT_BOT_MIN_TIMER of the
// test's own environment wins.
const minTimerEnv = "INCIDENT_BOT_MIN_TIMER"

func minTimerSetting() string {
	if v, ok := os.LookupEnv(minTimerEnv); ok {
		return minTimerEnv + "=" + v
	}
	return minTimerEnv + "=1s"
}
