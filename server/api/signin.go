package api

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// SignInPath is the plugin's sign-in page. It is served to anyone: it only
// posts the user's login and password to the server's own login API
// (POST /api/v4/users/login with X-Requested-With, which makes the server
// set its session cookie), then goes on to the page that was asked for.
// With that cookie the server sets Mattermost-User-Id on every GET to the
// plugin's routes, so the pages need nothing else.
const SignInPath = "/signin"

// IsPagePath reports whether path (as the plugin sees it, without
// /plugins/<id>) is one of the plugin's HTML pages: /incidents,
// /incidents/..., /stats, /rota and /archive.
func IsPagePath(path string) bool {
	switch {
	case path == "/incidents", path == "/stats", path == "/rota", path == "/archive":
		return true
	case strings.HasPrefix(path, "/incidents/"):
		return true
	}
	return false
}

// SignInGate sends a browser that asks for a page without a session
// (no Mattermost-User-Id header) to the sign-in page, with the page it
// asked for as next. Everything else goes to next unchanged.
func SignInGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			r.Header.Get("Mattermost-User-Id") == "" && IsPagePath(r.URL.Path) {
			// Not http.Redirect: it would make the address absolute against
			// the path the plugin sees, which lacks /plugins/<id>.
			w.Header().Set("Location", signInLocation(r.URL))
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signInLocation is the sign-in page's address relative to the page u,
// so that it needs neither the site URL nor the plugin id: the server
// removed <subpath>/plugins/<id> from u.Path, and the browser resolves
// "../" against the address it asked for.
func signInLocation(u *url.URL) string {
	depth := strings.Count(u.Path, "/") - 1
	target := u.Path
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	return strings.Repeat("../", depth) + strings.TrimPrefix(SignInPath, "/") + "?next=" + url.QueryEscape(target)
}

// safeNext is the plugin-relative page to go to after signing in: a path
// under the plugin, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/incidents"
	}
	return next
}

var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Incident Bot</title>
<style nonce="{{.Nonce}}">
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f4f5f7; color: #1f2328; margin: 0; }
main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.3rem; margin: 0 0 1.2rem; }
label { display: block; font-size: .9rem; margin: .8rem 0 .3rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; border: 1px solid #c4c8cf; border-radius: 4px; }
button { margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; background: #1c58d9; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
button:disabled { opacity: .6; }
#signin-error { color: #b3261e; min-height: 1.2em; margin: .8rem 0 0; font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1>Incident Bot</h1>
<p>Sign in with your Mattermost account to see the incidents.</p>
<form id="signin" method="post" action="#" data-next="{{.Next}}">
<label for="login_id">Username or email</label>
<input id="login_id" name="login_id" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="signin-submit" type="submit">Sign in</button>
<p id="signin-error" role="alert"></p>
</form>
</main>
<script nonce="{{.Nonce}}">
(function () {
  'use strict';
  var form = document.getElementById('signin');
  var error = document.getElementById('signin-error');
  var button = document.getElementById('signin-submit');
  var path = window.location.pathname;
  // <subpath>/plugins/<id>/signin: the plugin's base and the server's root.
  var base = path.slice(0, path.lastIndexOf('/signin'));
  var root = path.slice(0, path.lastIndexOf('/plugins/'));
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    error.textContent = '';
    button.disabled = true;
    fetch(root + '/api/v4/users/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest'},
      body: JSON.stringify({login_id: form.login_id.value, password: form.password.value})
    }).then(function (res) {
      if (res.ok) {
        window.location.assign(base + form.getAttribute('data-next'));
        return;
      }
      return res.json().catch(function () { return {}; }).then(function (body) {
        error.textContent = body.message || ('Sign-in failed (' + res.status + ')');
        button.disabled = false;
      });
    }).catch(function (err) {
      error.textContent = 'Sign-in failed: ' + err;
      button.disabled = false;
    });
  });
}());
</script>
</body>
</html>
`))

// serveSignIn serves the sign-in page. It has no external assets; its
// one inline script and style carry a per-response nonce the page's
// Content-Security-Policy allows, and nothing else runs.
func (a *API) serveSignIn(w http.ResponseWriter, r *http.Request) {
	var raw [18]byte
	_, _ = rand.Read(raw[:])
	nonce := base64.StdEncoding.EncodeToString(raw[:])
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	if err := signInPage.Execute(w, struct{ Nonce, Next string }{nonce, safeNext(r.URL.Query().Get("next"))}); err != nil {
		a.Log.Error().Err(err).Msg("render sign-in page")
	}
}
