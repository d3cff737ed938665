package plugin_test

import (
	"testing"
)

// A second rota, made in chat, staffs and pages the incident that names
// it at its start: its own first line is paged in its own rota channel,
// and the card names the rota and them.
func TestNamedRotaStaffsAndPagesItsIncident(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=6s, S2=6s, S3=6s, S4=off", "5s")
	name := "pay" + uniq()
	l1, starter := newUser(t, ctx, name+"-l1"), newUser(t, ctx, name+"-starter")
	ch, err := srv.NewChannel(ctx, name+"-rota", false, l1, starter)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "rota create", cmd(t, srv.Admin, ch.Id, "/incident rota create "+name).Text, "Rota `"+name+"` made")
	mustContain(t, "rota list", cmd(t, srv.Admin, ch.Id, "/incident rota list").Text, "`"+name+"`", "every other team")
	mustContain(t, "rota set", cmd(t, srv.Admin, ch.Id, "/incident rota set l1 @"+l1.Username+" --rota "+name).Text, "rota set")
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel --rota "+name).Text, "now the rota channel")
	mustContain(t, "rota show", cmd(t, srv.Admin, ch.Id, "/incident rota show --rota "+name).Text, "Rota `"+name+"`", "@"+l1.Username)
	mustContain(t, "unknown rota", cmd(t, starter, srv.TownSquare.Id, "/incident start Nope --rota no-such-rota").Text, `no rota "no-such-rota"`, name)

	s := start(t, starter, "Card payments fail --severity S2 --rota "+name)
	page := waitPagePost(t, ctx, l1, ch.Id, l1)
	mustContain(t, "page post", page.Message, "#"+s.ID)
	mustContain(t, "card", postTextNowAs(t, ctx, starter, s.Card.Id), "@"+l1.Username, "`"+name+"`")
}
