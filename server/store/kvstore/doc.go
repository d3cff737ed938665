// Package kvstore implements incident.Store on the Mattermost plugin KV store.
//
// It is the production store and is safe for several plugin processes (one
// per node of a cluster) sharing one KV: every write that can race is a
// compare-and-set on the exact bytes read, retried with jittered backoff, and
// nothing is cached in the process.
//
// Layout (see keys.go): one JSON record per incident, a channel -> incident
// mapping, small index documents (active incidents, incidents per creation
// month, the months that have incidents) and, per incident, a chunked
// append-only timeline. Appending an event reads the timeline head and the
// last chunk and rewrites that chunk only, so it costs the same at event 10
// and at event 10,000; reading a timeline costs one read per chunk plus one
// or two.
//
// The KV has no multi-key transactions. Multi-key operations are ordered so
// that a crash between two writes leaves nothing a reader can trip over:
// a record without its indexes is invisible to listings, and a timeline
// head that lags behind its last chunk is repaired by the next append.
package kvstore
