// Package archivefile writes and opens the incident archive as one file,
// for servers (export and import) and for readers without any server (the
// incident-archive tool).
//
// The file is a boltstore store (incidents, timelines and documents, in
// the same buckets and encoding the plugin's own bbolt store uses), so
// whatever reads a store reads an archive, plus one bucket of its own:
//
//	archive/format     the format's name, checked before anything else
//	archive/version    the format version, a decimal number
//	archive/meta       archive.Meta, as JSON: when, by whom, from where, how much
//	archive/directory  archive.Directory, as JSON: the names of the ids it mentions
//	archive/settings   the plugin's settings, secrets removed, as JSON
//
// A trailer after the database carries the format version again and a
// checksum of everything before it (see trailer.go).
package archivefile
