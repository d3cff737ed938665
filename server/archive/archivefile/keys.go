package archivefile

// The archive's own bucket and its keys (see package archive).
var (
	archiveBucket = []byte("archive")
	formatKey     = []byte("format")
	versionKey    = []byte("version")
	metaKey       = []byte("meta")
	directoryKey  = []byte("directory")
	settingsKey   = []byte("settings")
)
