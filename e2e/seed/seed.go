// Package seed writes a history of incidents straight into a real
// server's plugin KV table, as the plugin's own KV store code encodes
// them, for tests and benchmarks that need thousands of incidents: made
// through the REST API they would take an hour.
package seed

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// History is a batch of resolved incidents on their way into a server's
// plugin KV table.
type History struct {
	s        *harness.Server
	pluginID string
	mem      *pluginapi.MemoryStore
	st       *kvstore.Store
	months   map[string]bool
}

// New starts a history for the plugin pluginID of s.
func New(s *harness.Server, pluginID string) *History {
	mem := &pluginapi.MemoryStore{}
	return &History{s: s, pluginID: pluginID, mem: mem, st: kvstore.New(mem), months: map[string]bool{}}
}

// Add adds n resolved incidents of s's team, their ids starting with
// prefix, started evenly from from to to, each paged and acknowledged,
// mitigated and resolved, with people in their roles.
func (h *History) Add(ctx context.Context, prefix string, n int, from, to time.Time, people []string) error {
	step := to.Sub(from) / time.Duration(max(n, 1))
	for i := range n {
		start := from.Add(time.Duration(i) * step).UTC()
		if m := start.Format("2006-01"); !h.months[m] {
			if err := h.load(ctx, m); err != nil {
				return err
			}
		}
		im, l1 := people[i%len(people)], people[(i+1)%len(people)]
		inc := &incident.Incident{ID: fmt.Sprintf("%s%05d", prefix, i), Title: fmt.Sprintf("Checkout errors in region %d", i%7),
			Severity: incident.Severity(1 + i%4), TeamID: h.s.Team.Id, ChannelID: model.NewId(),
			Roles: map[incident.Role]string{incident.RoleIM: im, incident.RoleL1: l1}}
		tl := []incident.Event{inc.Start(start, im)}
		page := func(at time.Time, typ incident.EventType, actor string) incident.Event {
			return incident.NewEvent(at, actor, typ, "<@"+l1+"> as First line (level 1)").
				With(incident.DataPage, inc.ID+"-p").With(incident.DataTarget, l1).With(incident.DataLevel, "1").With(incident.DataRole, string(incident.RoleL1))
		}
		acked := start.Add(time.Minute + time.Duration(20+i%200)*time.Second)
		tl = append(tl, page(start.Add(time.Minute), incident.EventPaged, incident.ActorSystem), page(acked, incident.EventPageAcknowledged, l1))
		ev, err := inc.Mitigate(start.Add(time.Duration(10+i%50)*time.Minute), im)
		if err != nil {
			return err
		}
		tl = append(tl, ev)
		if ev, err = inc.Resolve(start.Add(time.Duration(70+i%300)*time.Minute), im, "Rolled back"); err != nil {
			return err
		}
		tl = append(tl, ev)
		for j := range tl {
			tl[j].Seq = j
		}
		if err := h.st.ImportIncident(ctx, inc, tl); err != nil {
			return fmt.Errorf("seed #%s: %w", inc.ID, err)
		}
	}
	return nil
}

// Flush writes what was added into the server's KV table, in one
// transaction: the months' indexes as read from the table before (see
// load) with the history's incidents added; the active index, which resolved
// incidents are not in, is left alone; and the stats of those months are
// marked as needing a look, which the plugin gives them at the next
// stats view (computing the entries the seeded incidents lack).
func (h *History) Flush(ctx context.Context) error {
	var sql strings.Builder
	for m := range h.months {
		fmt.Fprintf(&sql, "DELETE FROM pluginkeyvaluestore WHERE pluginid = '%s' AND pkey = 'doc/v1/stats/v1/%s/ready';\n", h.pluginID, m)
	}
	return Upsert(ctx, h.s, h.pluginID, h.mem, func(key string) bool {
		return !strings.HasPrefix(key, "idx/v1/active") && !strings.HasPrefix(key, "idx/v2/active/")
	}, sql.String())
}

// Upsert writes every key of mem that keep accepts (nil: all) into s's KV
// table for pluginID, in one transaction, then runs after (SQL, may be
// empty) in it.
func Upsert(ctx context.Context, s *harness.Server, pluginID string, mem *pluginapi.MemoryStore, keep func(key string) bool, after string) error {
	keys, err := mem.ListKeys(0, 1<<30)
	if err != nil {
		return err
	}
	var sql strings.Builder
	rows := 0
	for _, key := range keys {
		if keep != nil && !keep(key) {
			continue
		}
		var raw []byte
		if err := mem.Get(key, &raw); err != nil {
			return err
		}
		if rows%200 == 0 {
			if rows > 0 {
				sql.WriteString(" ON CONFLICT (pluginid, pkey) DO UPDATE SET pvalue = EXCLUDED.pvalue;\n")
			}
			sql.WriteString("INSERT INTO pluginkeyvaluestore (pluginid, pkey, pvalue, expireat) VALUES ")
		} else {
			sql.WriteString(",")
		}
		fmt.Fprintf(&sql, "('%s','%s',decode('%s','hex'),0)", pluginID, strings.ReplaceAll(key, "'", "''"), hex.EncodeToString(raw))
		rows++
	}
	if rows > 0 {
		sql.WriteString(" ON CONFLICT (pluginid, pkey) DO UPDATE SET pvalue = EXCLUDED.pvalue;\n")
	}
	sql.WriteString(after)
	return s.SQLScript(ctx, strings.NewReader(sql.String()))
}

// load copies the table's indexes that the history's incidents of month
// join into the in-memory KV, before the first of them is added there:
// the month list once, and the month's log.
func (h *History) load(ctx context.Context, month string) error {
	conds := []string{fmt.Sprintf("pkey LIKE 'idx/v2/month/%s/%%'", month)}
	if len(h.months) == 0 {
		conds = append(conds, "pkey = 'idx/v1/months'")
	}
	out, err := h.s.SQL(ctx, fmt.Sprintf("SELECT pkey || '|' || encode(pvalue, 'hex') FROM pluginkeyvaluestore WHERE pluginid = '%s' AND (%s)",
		h.pluginID, strings.Join(conds, " OR ")))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		key, hexed, ok := strings.Cut(sc.Text(), "|")
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(hexed)
		if err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		if _, err := h.mem.Set(key, raw); err != nil {
			return err
		}
	}
	h.months[month] = true
	return sc.Err()
}
