package plugin_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestRollingUpgrade runs two versions of the plugin over one store, as a
// cluster does while its nodes are upgraded one at a time: the first
// server runs the plugin's next version (this checkout built with the tag
// upgradeprobe, which stores a new top-level field in every document, see
// server/cas), the node keeps this version (no cluster bus tells it of the
// upload). What the newer version stored survives the older one's writes;
// a newer version that changes the meaning of fields (tag upgradeformat)
// is left alone by the older one, whose users are told to wait, until the
// node is upgraded too and takes the same work.
func TestRollingUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	next, err := harness.BuildVariant(ctx, "next", "upgradeprobe")
	if err != nil {
		t.Fatal(err)
	}
	nextFormat, err := harness.BuildVariant(ctx, "next-format", "upgradeprobe", "upgradeformat")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", srv.DataSource)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	alice := srv.Users[0]
	noHealthCheck := harness.NodeOptions{ConfigPatch: map[string]map[string]any{"PluginSettings": {"EnableHealthCheck": false}}}

	// The node installs the bundle in the file store when it starts: this
	// version. Cleanups run last first: the suite's bundle goes back on
	// the first server before the node stops.
	older := harness.MustStartNode(t, srv, noHealthCheck)
	if err := older.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	aliceOlder := older.Session(alice)
	t.Cleanup(func() {
		if err := srv.InstallPlugin(context.Background(), bundle, pluginID); err != nil {
			t.Errorf("put the suite's bundle back: %v", err)
		}
	})
	if err := srv.InstallPlugin(ctx, next, pluginID); err != nil {
		t.Fatal(err)
	}

	// 1. A field the next version added survives the older node's writes,
	// with the older node alone at work.
	run := uniq()
	s := start(t, alice, "Rolling upgrade "+run)
	rec := waitRecord(t, ctx, db, s.ID, "the next version's field on the new incident", func(r kvRecord) bool { return r.has("upgrade_probe") })
	if err := srv.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	var updates []string
	for i := 1; i <= 3; i++ {
		text := fmt.Sprintf("Upgrade step %d of %s", i, run)
		updates = append(updates, text)
		mustContain(t, "update on the older node", cmdOn(t, older, aliceOlder, s.Channel.Id, "/incident update "+text).Text, "Status update posted")
	}
	for _, text := range updates {
		waitPost(t, alice, broadcast.Id, "#"+s.ID, "status update", text)
	}
	after := waitRecord(t, ctx, db, s.ID, "the older node's writes", func(r kvRecord) bool { return r.revision() > rec.revision() })
	if !after.has("upgrade_probe") {
		t.Errorf("the older node dropped the field the next version stored: %s", after.raw)
	}
	if err := srv.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	tl := waitCmd(t, alice, s.Channel.Id, "/incident timeline", updates...)
	for _, text := range updates {
		if n := strings.Count(tl, text); n != 1 {
			t.Errorf("%q is on the timeline %d times:\n%s", text, n, tl)
		}
	}

	// 2. The next version changes the meaning of fields (format 2): the
	// older node writes none of its records and says why.
	if err := srv.InstallPlugin(ctx, nextFormat, pluginID); err != nil {
		t.Fatal(err)
	}
	// Bob, whom the node has not seen yet: nodes without a cluster bus do
	// not tell each other of new channel members, and the node would
	// refuse alice the new channel from its cache.
	bob := srv.Users[1]
	s2 := start(t, bob, "Rolling upgrade format "+run)
	rec2 := waitRecord(t, ctx, db, s2.ID, "format 2 on the new incident", func(r kvRecord) bool { return string(r.fields["fmt"]) == "2" })
	refused := cmdOn(t, older, older.Session(bob), s2.Channel.Id, "/incident update Not from an older node "+run).Text
	mustContain(t, "update on the older node", refused, "newer version of the incident bot", "try again once every server runs the new version")
	if now := readRecord(t, ctx, db, s2.ID); string(now.fields["fmt"]) != "2" || now.revision() < rec2.revision() {
		t.Errorf("the older node rewrote a format-2 record: %s", now.raw)
	}

	// 3. The node is upgraded (restarted: it installs the new bundle from
	// the file store) and takes the same command.
	if err := older.Stop(); err != nil {
		t.Fatal(err)
	}
	upgraded := harness.MustStartNode(t, srv, noHealthCheck)
	if err := upgraded.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	text := "Both nodes upgraded " + run
	mustContain(t, "update on the upgraded node", cmdOn(t, upgraded, upgraded.Session(bob), s2.Channel.Id, "/incident update "+text).Text, "Status update posted")
	waitPost(t, bob, broadcast.Id, "#"+s2.ID, "status update", text)
	if tl := waitCmd(t, bob, s2.Channel.Id, "/incident timeline", text); strings.Contains(tl, "Not from an older node") {
		t.Errorf("the refused update is on the timeline:\n%s", tl)
	}
	mustContain(t, "resolve", cmd(t, alice, s.Channel.Id, "/incident resolve upgrade test done").Text, "resolved")
	mustContain(t, "resolve", cmd(t, bob, s2.Channel.Id, "/incident resolve upgrade test done").Text, "resolved")
}

// kvRecord is an incident record as stored, field by field.
type kvRecord struct {
	raw    string
	fields map[string]json.RawMessage
}

func (r kvRecord) has(field string) bool { return r.fields[field] != nil }

func (r kvRecord) revision() int64 {
	var n int64
	_ = json.Unmarshal(r.fields["revision"], &n)
	return n
}

func readRecord(t *testing.T, ctx context.Context, db *sql.DB, id string) kvRecord {
	t.Helper()
	var raw []byte
	if err := db.QueryRowContext(ctx, `SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`, pluginID, "inc/v1/"+id).Scan(&raw); err != nil {
		t.Fatalf("read incident record %s: %v", id, err)
	}
	r := kvRecord{raw: string(raw)}
	if err := json.Unmarshal(raw, &r.fields); err != nil {
		t.Fatalf("decode incident record %s: %v", id, err)
	}
	return r
}

// waitRecord polls the incident's record until ok holds.
func waitRecord(t *testing.T, ctx context.Context, db *sql.DB, id, what string, ok func(kvRecord) bool) kvRecord {
	t.Helper()
	var r kvRecord
	harness.Eventually(t, wait, what, func() (bool, error) {
		r = readRecord(t, ctx, db, id)
		return ok(r), nil
	})
	return r
}
