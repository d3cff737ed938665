package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
)

func TestAuthenticateAlert(t *testing.T) {
	const amToken, gfToken = "am-secret-0123456789", "gf-secret-9876543210"
	tokens := map[alert.Source]string{alert.SourceAlertmanager: amToken, alert.SourceGrafana: gfToken}
	cases := []struct {
		name    string
		query   string
		headers map[string]string
		src     alert.Source // "": refused
		msg     string       // in the reply when refused
	}{
		{"bearer, as Alertmanager's http_config.authorization sends it", "source=alertmanager",
			map[string]string{"Authorization": "Bearer " + amToken}, alert.SourceAlertmanager, ""},
		{"bearer scheme in any case", "source=grafana",
			map[string]string{"Authorization": "bearer " + gfToken}, alert.SourceGrafana, ""},
		{"custom header", "source=alertmanager",
			map[string]string{TokenHeader: amToken}, alert.SourceAlertmanager, ""},
		{"source in any case", "source=Grafana",
			map[string]string{TokenHeader: gfToken}, alert.SourceGrafana, ""},
		{"bearer wins over the custom header", "source=alertmanager",
			map[string]string{"Authorization": "Bearer " + amToken, TokenHeader: "stale"}, alert.SourceAlertmanager, ""},
		{"another scheme is no token; the custom header counts", "source=alertmanager",
			map[string]string{"Authorization": "Basic " + amToken, TokenHeader: amToken}, alert.SourceAlertmanager, ""},

		{"token in the query", "source=alertmanager&token=" + amToken, nil, "", "not accepted (URLs end up in logs)"},
		{"token in the query beside a good header", "source=alertmanager&token=" + amToken,
			map[string]string{"Authorization": "Bearer " + amToken}, "", "remove token= from the URL"},
		{"empty token in the query", "source=alertmanager&token=",
			map[string]string{TokenHeader: amToken}, "", "token in the URL"},
		{"no token", "source=alertmanager", nil, "", "no token: send it in the X-Incident-Token header"},
		{"empty bearer", "source=alertmanager", map[string]string{"Authorization": "Bearer "}, "", "no token"},
		{"another scheme only", "source=alertmanager", map[string]string{"Authorization": "Basic " + amToken}, "", "no token"},
		{"wrong bearer", "source=alertmanager", map[string]string{"Authorization": "Bearer " + amToken + "x"}, "", "wrong token"},
		{"other source's token", "source=grafana", map[string]string{"Authorization": "Bearer " + amToken}, "", "wrong token"},
		{"unknown source", "source=nagios", map[string]string{TokenHeader: amToken}, "", "unknown source"},
		{"no source", "", map[string]string{TokenHeader: amToken}, "", "unknown source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/alerts?"+c.query, nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			src, why, msg := authenticateAlert(r, tokens)
			if c.src != "" {
				if src != c.src || why != "" || msg != "" {
					t.Fatalf("authenticateAlert = %q, %q, %q; want %q accepted", src, why, msg, c.src)
				}
				return
			}
			if src != "" || why == "" || !strings.Contains(msg, c.msg) {
				t.Fatalf("authenticateAlert = %q, %q, %q; want refused with %q", src, why, msg, c.msg)
			}
		})
	}
}

func TestAuthenticateAlertDisabledSource(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/alerts?source=grafana", nil)
	r.Header.Set("Authorization", "Bearer ")
	r.Header.Set(TokenHeader, "")
	// An empty configured token disables the source, even for an empty
	// token given.
	for _, tok := range []string{"", "anything"} {
		r.Header.Set(TokenHeader, tok)
		if src, why, _ := authenticateAlert(r, map[alert.Source]string{alert.SourceGrafana: ""}); src != "" || why == "" {
			t.Errorf("token %q accepted by a disabled source", tok)
		}
	}
}
