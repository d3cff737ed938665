package harness

import (
	"encoding/json"
	"os"
	"strings"
)

// LogSize is the size of the log file at path now: an offset for
// LogLinesAfter.
func LogSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// LogLinesAfter decodes the JSON lines of the server log at path written
// after offset; lines that are not JSON are skipped.
func LogLinesAfter(path string, offset int64) []map[string]any {
	raw, err := os.ReadFile(path)
	if err != nil || offset > int64(len(raw)) {
		return nil
	}
	var out []map[string]any
	for _, line := range strings.Split(string(raw[offset:]), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}
