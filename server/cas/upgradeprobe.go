//go:build upgradeprobe

package cas

import "encoding/json"

// Built only into the bundles of the rolling-upgrade end-to-end test
// (`make bundle GOTAGS="-tags upgradeprobe"`): the plugin then runs as its
// own next version, one that stores a new top-level field in every
// document, and the test checks that the nodes still on this version
// pass the field on.
func init() {
	addedFields = map[string]json.RawMessage{"upgrade_probe": json.RawMessage(`"written by the next version"`)}
}
