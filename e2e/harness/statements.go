package harness

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// The plugin's KV calls, counted where the real server pays for them:
// PostgreSQL's statement log of the throwaway cluster. Every plugin KV call
// is one or two statements on PluginKeyValueStore (a read of a missing key
// is two: the key, then its pre-5.6 hashed form).

// KVCount is what one window of the statement log holds.
type KVCount struct {
	Total  int
	ByVerb map[string]int
	// Keys counts the statements per kind of key (its prefix: "inc/v1/",
	// "doc/v1/page/v1/"), where the log names the key.
	Keys map[string]int
}

func (c KVCount) String() string {
	return fmt.Sprintf("%d (SELECT %d, INSERT %d, UPDATE %d, DELETE %d)", c.Total,
		c.ByVerb["SELECT"], c.ByVerb["INSERT"], c.ByVerb["UPDATE"], c.ByVerb["DELETE"])
}

var (
	kvStatement = regexp.MustCompile(`(?i)LOG:\s+(?:execute [^:]*|statement):\s+(SELECT|INSERT|UPDATE|DELETE)\b.*pluginkeyvaluestore`)
	kvParams    = regexp.MustCompile(`DETAIL:\s+parameters: (.*)`)
	kvKeyParam  = regexp.MustCompile(`\$\d+ = '([^']*)'`)
)

// LogStatements switches PostgreSQL's statement log on (every statement)
// or back off. Logging costs the database time: switch it on only around
// what is counted.
func (s *Server) LogStatements(ctx context.Context, on bool) error {
	q := "ALTER SYSTEM RESET log_statement"
	if on {
		q = "ALTER SYSTEM SET log_statement = 'all'"
	}
	if _, err := s.SQL(ctx, q); err != nil {
		return err
	}
	_, err := s.SQL(ctx, "SELECT pg_reload_conf()")
	return err
}

// StatementMark writes a recognisable statement into the log and returns
// the log's size once it is there: the start or end of a window.
func (s *Server) StatementMark(ctx context.Context, name string) (int64, error) {
	tag := fmt.Sprintf("statement-mark-%s-%d", name, time.Now().UnixNano())
	if _, err := s.SQL(ctx, "SELECT '"+tag+"'"); err != nil {
		return 0, err
	}
	var size int64
	err := poll(ctx, 5*time.Millisecond, func() (bool, error) {
		raw, err := os.ReadFile(s.PostgresLogPath())
		if err != nil {
			return false, err
		}
		i := strings.Index(string(raw), tag)
		size = int64(i)
		return i >= 0, nil
	})
	return size, err
}

// CountKV counts the plugin's KV statements in the log between two marks.
func (s *Server) CountKV(from, to int64) KVCount {
	c := KVCount{ByVerb: map[string]int{}, Keys: map[string]int{}}
	raw, err := os.ReadFile(s.PostgresLogPath())
	if err != nil || to > int64(len(raw)) || from > to {
		return c
	}
	lines := strings.Split(string(raw[from:to]), "\n")
	for i, line := range lines {
		m := kvStatement.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c.Total++
		c.ByVerb[strings.ToUpper(m[1])]++
		if i+1 < len(lines) {
			if p := kvParams.FindStringSubmatch(lines[i+1]); p != nil {
				c.Keys[keyPrefix(p[1])]++
			}
		}
	}
	return c
}

// keyPrefix names the kind of key a statement's parameters carry: the
// first parameter that looks like one of the plugin's keys, cut after its
// second "/".
func keyPrefix(params string) string {
	for _, m := range kvKeyParam.FindAllStringSubmatch(params, -1) {
		k := m[1]
		if !strings.Contains(k, "/") && !strings.HasPrefix(k, "mutex_") && !strings.HasPrefix(k, "cron_") {
			continue
		}
		n := 2 // kind and version: "inc/v1/"
		if strings.HasPrefix(k, "doc/") {
			n = 4 // documents: "doc/v1/page/v1/"
		}
		parts := strings.SplitN(k, "/", n+1)
		if len(parts) > n {
			return strings.Join(parts[:n], "/") + "/"
		}
		return k
	}
	return "?"
}

// KVStill waits until no KV statement has been logged after from for
// quiet, or limit passes.
func (s *Server) KVStill(ctx context.Context, from int64, quiet, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last, since := -1, time.Now()
	return poll(ctx, 20*time.Millisecond, func() (bool, error) {
		info, err := os.Stat(s.PostgresLogPath())
		if err != nil {
			return false, err
		}
		n := s.CountKV(from, info.Size()).Total
		if n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) >= quiet, nil
	})
}
