//go:build upgradeformat

package cas

// Built only into the bundles of the rolling-upgrade end-to-end test
// (`make bundle GOTAGS="-tags upgradeformat"`): the plugin then runs as a
// next version that changed the meaning of existing fields, so the nodes
// still on this version must leave its documents alone.
func init() { Format = 2 }
