package bot

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/rs/zerolog"
)

// LogWriter routes zerolog events into the Mattermost server log with the
// matching level, the message as the log message and every other field as a
// key/value pair, so the server's own log tooling can filter them.
type LogWriter struct{ API plugin.API }

var _ zerolog.LevelWriter = LogWriter{}

// Write logs p at info level; zerolog calls WriteLevel instead when it can.
func (w LogWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.InfoLevel, p) }

// WriteLevel decodes one zerolog JSON event and hands it to the server.
func (w LogWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	var fields map[string]any
	if err := json.Unmarshal(p, &fields); err != nil {
		w.API.LogError("unparsable log event", "raw", string(p))
		return len(p), nil
	}
	msg, _ := fields[zerolog.MessageFieldName].(string)
	delete(fields, zerolog.MessageFieldName)
	delete(fields, zerolog.LevelFieldName)
	delete(fields, zerolog.TimestampFieldName)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, fmt.Sprint(fields[k]))
	}
	switch level {
	case zerolog.TraceLevel, zerolog.DebugLevel:
		w.API.LogDebug(msg, kv...)
	case zerolog.InfoLevel, zerolog.NoLevel:
		w.API.LogInfo(msg, kv...)
	case zerolog.WarnLevel:
		w.API.LogWarn(msg, kv...)
	default:
		w.API.LogError(msg, kv...)
	}
	return len(p), nil
}
