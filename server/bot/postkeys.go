package bot

import "sync"

// postKeys remembers the once key (PropOnce) of the posts this process
// made, "" for a post made outside a step: an update replaces every prop,
// so it must carry the key over, and for these posts it need not read the
// post first (a page's posts are re-rendered on every acknowledgement).
// Posts made by another node are read as before.
type postKeys struct {
	mu sync.Mutex
	m  map[string]string
}

// postKeysMax bounds what is remembered; past it, it starts again.
const postKeysMax = 20000

func (k *postKeys) put(postID, key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= postKeysMax {
		k.m = map[string]string{}
	}
	k.m[postID] = key
}

func (k *postKeys) get(postID string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.m[postID]
	return key, ok
}
