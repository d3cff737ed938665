package app

import (
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

// listCost reads the first and the second page of 50 of the list over n
// incidents and returns them and the second page's KV cost.
func listCost(t *testing.T, n int) (first, second *ListResult, cost kvtest.Counts) {
	e := newCostEnv(t)
	openIncidents(t, e, n)
	q := ListQuery{Since: t0.AddDate(0, 0, -1), Limit: 50}
	first, err := e.app.ListPage(ctx, "alice", q)
	if err != nil {
		t.Fatal(err)
	}
	q.Cursor = first.Next
	before := e.kv.Snapshot()
	if second, err = e.app.ListPage(ctx, "alice", q); err != nil {
		t.Fatal(err)
	}
	return first, second, e.kv.Since(before)
}

// TestListPagesCostWhatTheyShow: a page of 50 makes about 100 KV calls (the
// 50 incidents and their summaries) over 130 and over 1,000 incidents, and the pages follow each
// other, newest first, each row with its figures.
func TestListPagesCostWhatTheyShow(t *testing.T) {
	_, _, few := listCost(t, 130)
	first, second, many := listCost(t, 1000)
	t.Logf("second page of 50: %d calls, %d B over 130 incidents; %d calls, %d B over 1,000", few.Calls(), few.Read, many.Calls(), many.Read)
	// One more read where the page crosses a chunk of the index (128 ids).
	if many.Calls() > few.Calls()+1 || many.Calls() > 105 || many.Sets != 0 {
		t.Errorf("a page made %d KV calls over 130 incidents and %d (%d writes) over 1,000", few.Calls(), many.Calls(), many.Sets)
	}
	rows := append(first.Incidents, second.Incidents...)
	if len(first.Incidents) != 50 || len(second.Incidents) != 50 || second.Next == "" {
		t.Fatalf("pages of %d and %d rows, next %q", len(first.Incidents), len(second.Incidents), second.Next)
	}
	for i := 1; i < len(rows); i++ {
		if !rows[i].CreatedAt.Before(rows[i-1].CreatedAt) {
			t.Fatalf("row %d (%s, %s) is not older than row %d (%s)", i, rows[i].ID, rows[i].CreatedAt, i-1, rows[i-1].CreatedAt)
		}
	}
	resolved := 0
	for _, inc := range rows {
		sum := first.Summaries[inc.ID]
		if sum == nil {
			sum = second.Summaries[inc.ID]
		}
		if sum == nil {
			t.Fatalf("row %s has no summary", inc.ID)
		}
		if inc.Status == incident.StatusResolved {
			resolved++
			if !sum.Resolved || sum.TimeToResolve.Round(time.Minute) != 7*time.Minute {
				t.Errorf("row %s: summary %+v, want resolved in 7 minutes", inc.ID, sum)
			}
		}
	}
	if resolved < 30 {
		t.Errorf("%d resolved rows in 100", resolved)
	}
}

// TestListPageFiltersStopAtTheirBound: a filter that matches nothing
// looks through listScan incidents and offers to look further.
func TestListPageFiltersStopAtTheirBound(t *testing.T) {
	e := newCostEnv(t)
	openIncidents(t, e, listScan+70)
	res, err := e.app.ListPage(ctx, "alice", ListQuery{Text: "no such title", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Incidents) != 0 || res.Scanned != listScan || res.Next == "" {
		t.Fatalf("looked through %d, found %d, next %q; want %d looked at and a cursor", res.Scanned, len(res.Incidents), res.Next, listScan)
	}
	res, err = e.app.ListPage(ctx, "alice", ListQuery{Text: "Incident 3", Limit: 50, Cursor: res.Next})
	if err != nil {
		t.Fatal(err)
	}
	// "Incident 3", "Incident 30" to "Incident 39": the oldest 70 hold them.
	if len(res.Incidents) != 11 || res.Next != "" {
		t.Errorf("the rest: %d rows, next %q; want 11 and the end", len(res.Incidents), res.Next)
	}
}
