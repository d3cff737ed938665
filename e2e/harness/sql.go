package harness

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SQL runs query in the server's database as the PostgreSQL superuser and
// returns psql's unaligned, tuples-only output: for tools that read what
// the plugin stored or switch the statement log on.
func (s *Server) SQL(ctx context.Context, query string) (string, error) {
	if s.pg == nil {
		return "", fmt.Errorf("sql: this server has no database of its own")
	}
	p := s.pg
	out, err := p.command(ctx, "psql", "-h", p.sockDir, "-p", strconv.Itoa(p.port), "-U", "postgres",
		"-d", dbName, "-X", "-v", "ON_ERROR_STOP=1", "-q", "-A", "-t", "-c", query).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("sql %q: %w\n%s", query, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// SQLScript runs the SQL script read from script (any length, several
// statements) in the server's database as the PostgreSQL superuser, in one
// transaction: for tools that seed large amounts of data.
func (s *Server) SQLScript(ctx context.Context, script io.Reader) error {
	if s.pg == nil {
		return fmt.Errorf("sql: this server has no database of its own")
	}
	p := s.pg
	cmd := p.command(ctx, "psql", "-h", p.sockDir, "-p", strconv.Itoa(p.port), "-U", "postgres",
		"-d", dbName, "-X", "-v", "ON_ERROR_STOP=1", "-q", "-1", "-f", "-")
	cmd.Stdin = script
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sql script: %w\n%s", err, out)
	}
	return nil
}

// PostgresLogPath is the PostgreSQL server log of the server's database.
func (s *Server) PostgresLogPath() string {
	if s.pg == nil {
		return ""
	}
	return s.pg.logPath
}
