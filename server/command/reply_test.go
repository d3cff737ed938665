package command

import "testing"

// TestRepliesSkipSlackParsing: replies go out as written. The server's
// Slack-compatibility rewriting would turn a title "<!channel>" into
// "@channel", and "DB <primary> down" followed by a table's "|" into a
// link swallowing the table.
func TestRepliesSkipSlackParsing(t *testing.T) {
	text := "#### Timeline of incident #abc: DB <primary> down <!channel>\n| Time (UTC) | Who | Event |"
	r := Reply{Text: text, Goto: "/team/channels/x"}.Response()
	if !r.SkipSlackParsing || r.Text != text || r.GotoLocation != "/team/channels/x" || r.ResponseType != "ephemeral" {
		t.Errorf("response %+v", r)
	}
}
