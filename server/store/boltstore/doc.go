// Package boltstore implements incident.Store on bbolt, an embedded
// key/value file.
//
// It is for a single process only: a development server, a test, a one-node
// install. bbolt locks its file for one process, and a clustered Mattermost
// runs one plugin process per node, each with its own disk, so the nodes
// would see different incidents and every "once per cluster" claim would be
// won once per node. Never use it on a clustered server; use kvstore there.
//
// Every operation is one bbolt transaction, so each is atomic and the
// compare-and-set dance of the KV store is not needed.
package boltstore
