package harness

import (
	"context"
	"database/sql"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

// startDatabaseOnly starts what Start starts for the database (a throwaway
// cluster and the proxy in front of it), without Mattermost: enough to
// prove the faults in seconds. Stop is the real Server.Stop.
func startDatabaseOnly(t *testing.T) *Server {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a PostgreSQL cluster; not in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if s.pg, err = startPostgres(ctx, dir); err != nil {
		t.Fatal(err)
	}
	s.DataSource = s.pg.dataSource()
	if s.DB, err = startDBProxy(s.pg.addr()); err != nil {
		t.Fatal(err)
	}
	return s
}

// pinned opens a database handle on dsn and returns one connection of it,
// warmed up with a first query.
func pinned(t *testing.T, ctx context.Context, dsn string) *sql.Conn {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	timedQuery(t, ctx, conn)
	return conn
}

// timedQuery runs SELECT 1 on conn and returns how long it took.
func timedQuery(t *testing.T, ctx context.Context, conn *sql.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	return time.Since(start)
}

// TestDBProxyLatency: a query through the proxy takes at least the latency
// set, on every connection at once (not one after the other), and no
// longer than usual once it is set back to 0; the direct DSN never sees
// it; closing the proxy closes its connections.
func TestDBProxyLatency(t *testing.T) {
	s := startDatabaseOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const latency = 400 * time.Millisecond
	fast := latency / 2 // a loopback SELECT 1 takes about a millisecond

	a := pinned(t, ctx, s.DB.DataSource())
	b := pinned(t, ctx, s.DB.DataSource())
	direct := pinned(t, ctx, s.DataSource)
	if n := s.DB.Connections(); n != 2 {
		t.Errorf("%d connections through the proxy, want 2", n)
	}
	if d := timedQuery(t, ctx, a); d >= fast {
		t.Errorf("query through the proxy at latency 0 took %s", d)
	}

	s.DB.SetLatency(latency)
	if got := s.DB.Latency(); got != latency {
		t.Errorf("Latency() = %s, want %s", got, latency)
	}
	for i := range 3 {
		if d := timedQuery(t, ctx, a); d < latency || d > latency+time.Second {
			t.Errorf("query %d at latency %s took %s", i+1, latency, d)
		}
	}
	if d := timedQuery(t, ctx, direct); d >= fast {
		t.Errorf("direct query took %s while the proxy adds %s", d, latency)
	}
	// Two connections at once: each waits the latency once, in parallel.
	start := time.Now()
	done := make(chan time.Duration, 2)
	for _, c := range []*sql.Conn{a, b} {
		go func() {
			t0 := time.Now()
			var one int
			_ = c.QueryRowContext(ctx, "SELECT 1").Scan(&one)
			done <- time.Since(t0)
		}()
	}
	for range 2 {
		if d := <-done; d < latency {
			t.Errorf("concurrent query took %s, under the latency", d)
		}
	}
	if d := time.Since(start); d >= 2*latency {
		t.Errorf("two concurrent queries on two connections took %s: the latency is not per connection", d)
	}
	// A new connection's start-up is delayed too.
	db, err := sql.Open("postgres", s.DB.DataSource())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start = time.Now()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < latency {
		t.Errorf("a new connection through the proxy was ready in %s, under the latency", d)
	}

	s.DB.SetLatency(0)
	for i := range 3 {
		if d := timedQuery(t, ctx, a); d >= fast {
			t.Errorf("query %d after SetLatency(0) took %s", i+1, d)
		}
	}

	closed := make(chan error, 1)
	go func() { closed <- s.DB.close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not close within 10 s")
	}
	if n := s.DB.Connections(); n != 0 {
		t.Errorf("%d connections left after close", n)
	}
	var one int
	if err := a.QueryRowContext(ctx, "SELECT 1").Scan(&one); err == nil {
		t.Error("a connection through the closed proxy still answers")
	}
	timedQuery(t, ctx, direct)
}

// TestPausePostgres: a paused cluster has every process stopped and
// answers no query until resumed; the query then completes. Stop resumes
// a cluster left paused and leaves no process of it behind.
func TestPausePostgres(t *testing.T) {
	s := startDatabaseOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	viaProxy := pinned(t, ctx, s.DB.DataSource())
	direct := pinned(t, ctx, s.DataSource)
	master := s.pg.cmd.Process.Pid
	cluster := func() []int { return append([]int{master}, descendants(master)...) }
	states := func() string {
		var b strings.Builder
		for _, pid := range cluster() {
			state, _, _ := procStat(pid)
			b.WriteByte(state)
		}
		return b.String()
	}
	if n := len(cluster()); n < 3 {
		t.Fatalf("cluster has %d processes (%s); want the postmaster, its helpers and two backends", n, states())
	}

	resume, err := s.PausePostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer resume()
	if st := states(); strings.Trim(st, "T") != "" {
		t.Errorf("process states while paused: %q, want all T", st)
	}
	if _, err := s.PausePostgres(); err == nil {
		t.Error("a second pause succeeded")
	}
	results := make(chan error, 2)
	for _, c := range []*sql.Conn{viaProxy, direct} {
		go func() {
			var one int
			results <- c.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		}()
	}
	select {
	case err := <-results:
		t.Fatalf("a query answered while the cluster was paused (%v)", err)
	case <-time.After(time.Second):
	}
	resumed := time.Now()
	if err := resume(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-results:
			if err != nil {
				t.Errorf("query after resume: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a query did not complete within 5 s of resume")
		}
	}
	t.Logf("queries completed %s after resume", time.Since(resumed).Round(time.Millisecond))
	if st := states(); strings.Contains(st, "T") {
		t.Errorf("process states after resume: %q", st)
	}
	if err := resume(); err != nil {
		t.Errorf("second resume: %v", err)
	}

	// Left paused, Stop resumes it first and stops it cleanly.
	if _, err := s.PausePostgres(); err != nil {
		t.Fatal(err)
	}
	pids := cluster()
	start := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop of a paused cluster: %v", err)
	}
	t.Logf("stopped a paused cluster in %s", time.Since(start).Round(time.Millisecond))
	var live []int
	for _, pid := range pids {
		if state, _, ok := procStat(pid); ok && state != 'Z' && state != 'X' {
			live = append(live, pid)
		}
	}
	if len(live) != 0 {
		t.Errorf("processes %v of the cluster still there after Stop", live)
	}
}

// TestServerEnvSetsMinTimer: every server process gets
// INCIDENT_BOT_MIN_TIMER=1s unless the test's environment sets it, and no
// MM_* variable.
func TestServerEnvSetsMinTimer(t *testing.T) {
	t.Setenv("MM_SERVICESETTINGS_SITEURL", "http://example.com")
	t.Setenv(minTimerEnv, "")
	os.Unsetenv(minTimerEnv)
	env := serverEnv()
	if !slices.Contains(env, "INCIDENT_BOT_MIN_TIMER=1s") {
		t.Errorf("server environment lacks INCIDENT_BOT_MIN_TIMER=1s")
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "MM_") {
			t.Errorf("server environment has %s", kv)
		}
	}
	t.Setenv(minTimerEnv, "2s")
	var got []string
	for _, kv := range serverEnv() {
		if strings.HasPrefix(kv, minTimerEnv+"=") {
			got = append(got, kv)
		}
	}
	if !slices.Equal(got, []string{"INCIDENT_BOT_MIN_TIMER=2s"}) {
		t.Errorf("with INCIDENT_BOT_MIN_TIMER=2s set, the server gets %v", got)
	}
}
