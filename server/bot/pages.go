package bot

import (
	"strings"
)

// PageURL is the address of one of the plugin's pages (a path of package
// web, e.g. web.IncidentPath(id)): under the site URL SiteURL gives, or
// from the server's root when there is none.
func (b *Bot) PageURL(path string) string {
	site := ""
	if b.SiteURL != nil {
		site = strings.TrimSuffix(b.SiteURL(), "/")
	}
	return site + "/plugins/" + b.pluginID + path
}
