// Package archive is the incident archive: what one holds (Meta, the
// Directory of names, the settings), the ports through which the app
// writes and reads one (Writer, Source), and how ids are found and
// remapped in stored JSON. It imports no storage: package archivefile
// writes and opens the archive as one bbolt file, so that the app's use
// cases stay free of bbolt.
package archive
