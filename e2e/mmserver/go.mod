// Module mmserver builds a stock Mattermost v6.7.2 (Team Edition) server for
// the end-to-end tests. It is its own module so that the server's ~300
// dependencies never enter the plugin's module graph.
module github.com/incidentbot/mattermost-incident-bot/e2e/mmserver

go 1.16

require github.com/mattermost/mattermost-server/v6 v6.7.2

// Copied from the upstream v6.7.2 go.mod: replace and exclude directives only
// apply in the main module, and resolution fails without them.
replace github.com/Masterminds/squirrel v1.5.2 => github.com/lieut-data/squirrel v1.5.4

exclude (
	github.com/RoaringBitmap/roaring v0.7.0
	github.com/RoaringBitmap/roaring v0.7.1
	github.com/willf/bitset v1.2.0
)
