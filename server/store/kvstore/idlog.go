package kvstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// An id log is an append-only list of ids kept in chunks of at most
// logChunkIDs (keys <name>/<k>, from 0) with a head hint (<name>/h) naming
// the last chunk, like a timeline: appending costs the same at the tenth id
// and at the ten-thousandth, and reading costs one read per chunk. A chunk
// is sealed by the append that fills it. The log of a month lists the
// incidents created in it.
const logChunkIDs = 128

type logChunk struct {
	IDs    []string `json:"ids"`
	Sealed bool     `json:"s,omitempty"`
}

func logChunkKey(name string, k int) string { return name + "/" + strconv.Itoa(k) }

func logHeadKey(name string) string { return name + "/h" }

// logHead returns the head hint of log name (0 when absent) and its bytes.
func (s *Store) logHead(name string) (int, []byte, error) {
	raw, err := s.get(logHeadKey(name))
	if err != nil || raw == nil {
		return 0, nil, err
	}
	k, err := strconv.Atoi(string(raw))
	if err != nil || k < 0 {
		return 0, nil, fmt.Errorf("decode the head of %s: %q is not a chunk number", name, raw)
	}
	return k, raw, nil
}

// logAppend adds id at the end of log name. A retry after an error that
// struck after the write can add it twice; readers drop repeats.
func (s *Store) logAppend(ctx context.Context, name, id, what string) error {
	k, headRaw, err := s.logHead(name)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.retry(ctx, what, func() (bool, error) {
		for {
			raw, err := s.get(logChunkKey(name, k))
			if err != nil {
				return false, fmt.Errorf("%s: %w", what, err)
			}
			var c logChunk
			if raw != nil {
				if err := json.Unmarshal(raw, &c); err != nil {
					return false, fmt.Errorf("%s: decode %s: %w", what, logChunkKey(name, k), err)
				}
			}
			if c.Sealed {
				k++ // the head lags, or the chunk filled meanwhile
				continue
			}
			c.IDs = append(c.IDs, id)
			c.Sealed = len(c.IDs) >= logChunkIDs
			next, err := json.Marshal(c)
			if err != nil {
				return false, fmt.Errorf("%s: encode: %w", what, err)
			}
			ok, err := s.swap(logChunkKey(name, k), raw, next)
			if err != nil || !ok {
				return false, err
			}
			if c.Sealed {
				// Only a hint: a failure costs readers and appenders a read
				// past it until the next chunk is sealed.
				if _, err := s.swap(logHeadKey(name), headRaw, []byte(strconv.Itoa(k+1))); err != nil {
					return true, nil
				}
			}
			return true, nil
		}
	})
}

// logRead returns the ids of log name in order, repeats dropped.
func (s *Store) logRead(ctx context.Context, name string) ([]string, error) {
	var (
		ids  []string
		seen = map[string]bool{}
	)
	for k := 0; ; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, err := s.get(logChunkKey(name, k))
		if err != nil {
			return nil, err
		}
		if raw == nil {
			return ids, nil
		}
		var c logChunk
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("decode %s: %w", logChunkKey(name, k), err)
		}
		for _, id := range c.IDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if !c.Sealed {
			return ids, nil
		}
	}
}
