// Package devmode is what only `relay dev` serves: the demo routes and
// their tokens, the built-in webhook sources, the start-up banner and the
// loopback-only authenticator used without a token key. relay/app wires
// these in dev mode; relay serve links them but never reaches them.
package devmode

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/api"
)

// NoTokenKeyNotice is printed by relay dev when it runs without a token
// key (auth.AllowAll). Tests and docs match it.
const NoTokenKeyNotice = "no token key: anyone on 127.0.0.1 may subscribe"

// bannerTokenTTL bounds the publish token printed in the banner when the
// relay requires tokens.
const bannerTokenTTL = time.Hour

// Banner is what PrintBanner needs to know about the running relay (a
// value, so relay/app can hand it over without devmode importing app).
type Banner struct {
	BusKind    string // "memory" or "redis"
	Anyone     bool   // no token key: LoopbackOnly admits everyone on this machine
	DemoKey    string // signs the banner's publish token ("" without a token key)
	Audience   string // the tokens' audience (token_audience)
	DevSources bool   // the built-in webhook sources are served
	Console    bool   // an admin key turns the operator console on
}

// PrintBanner tells a developer what relay dev serves and how to poke it:
// demo page URLs, a publish curl and a signed webhook curl.
func PrintBanner(w io.Writer, a Banner, addr net.Addr) {
	base := "http://" + displayAddr(addr)
	var b strings.Builder
	fmt.Fprintf(&b, "\nhookrelay dev: relay, webhooks and demo pages on %s (%s bus)\n\n", base, a.BusKind)
	fmt.Fprintf(&b, "  Demo pages\n")
	fmt.Fprintf(&b, "    %s/             overview\n", base)
	fmt.Fprintf(&b, "    %s/orders.html  order 1042 tracking (SSE, history, unread badge)\n", base)
	fmt.Fprintf(&b, "    %s/alerts.html  on-call alerts (alerts:oncall)\n", base)
	fmt.Fprintf(&b, "    %s/chat.html    chat rooms (WebSocket, publish from the browser)\n\n", base)

	if a.Anyone {
		fmt.Fprintf(&b, "  %s (set HOOKRELAY_TOKEN_KEY to require tokens).\n\n", NoTokenKeyNotice)
	} else {
		fmt.Fprintf(&b, "  Tokens required (HOOKRELAY_TOKEN_KEY); the demo pages get theirs from %s.\n\n", api.DemoTokenPath)
	}

	authHeader := ""
	switch {
	case a.Anyone:
	case a.DemoKey != "":
		// Signed with the demo key: valid on dev relays only, never on a
		// serve relay sharing the configured key.
		tok, err := auth.Mint(a.DemoKey, auth.MintClaims{Subject: "dev-banner", Publish: []string{"*"}, TTL: bannerTokenTTL, Audience: a.Audience})
		if err == nil {
			authHeader = " -H 'Authorization: Bearer " + tok + "'"
		}
	default:
		authHeader = " -H 'Authorization: Bearer <an API key from HOOKRELAY_API_KEYS>'"
	}
	fmt.Fprintf(&b, "  Publish an event (appears on the orders page):\n")
	fmt.Fprintf(&b, "    curl -sS -X POST %s%s -H 'Content-Type: application/json'%s \\\n", base, api.PublishPath, authHeader)
	fmt.Fprintf(&b, "      -d '{\"topic\":\"order:1042\",\"type\":\"order.note\",\"data\":{\"title\":\"Hello from curl\",\"body\":\"published with POST /v1/publish\"}}'\n\n")

	if a.DevSources {
		del := shopifyFulfillment("fulfillments/create", "confirmed", time.Now())
		fmt.Fprintf(&b, "  Signed Shopify webhook (order 1042 shipped; pasting it twice shows deduplication):\n")
		fmt.Fprintf(&b, "    curl -sS -X POST %s%s%s", base, api.HooksPrefix, del.source)
		for _, k := range []string{"Content-Type", "X-Shopify-Topic", "X-Shopify-Webhook-Id", "X-Shopify-Hmac-Sha256"} {
			fmt.Fprintf(&b, " -H '%s: %s'", k, del.headers[k])
		}
		fmt.Fprintf(&b, " \\\n      --data-binary '%s'\n\n", del.body)
		fmt.Fprintf(&b, "  Alertmanager: POST %s%s%s with Authorization: Bearer %s\n\n", base, api.HooksPrefix, devAlertmanagerSource, AlertmanagerToken)
	} else {
		fmt.Fprintf(&b, "  Webhooks: POST %s%s{source} for the sources of the config file.\n\n", base, api.HooksPrefix)
	}
	if a.Console {
		fmt.Fprintf(&b, "  Operator console (deliveries, replay, fleet, live tail): %s/console/ with the admin key.\n\n", base)
	} else {
		fmt.Fprintf(&b, "  Operator console: set HOOKRELAY_ADMIN_KEY (16+ bytes) to turn on %s/console/.\n\n", base)
	}
	fmt.Fprintf(&b, "  Ctrl-C drains and stops.\n\n")
	// A banner that cannot be written (closed stdout) is not a reason to stop.
	_, _ = io.WriteString(w, b.String())
}

// displayAddr turns a listener address into one a browser can open: an
// unspecified host (":8080", "0.0.0.0") becomes 127.0.0.1.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// LoopbackOnly is relay dev's authenticator without a token key: everyone
// on this machine gets every grant (auth.AllowAll), nobody else gets in.
// It keeps the banner's promise even when --addr binds a public interface.
type LoopbackOnly struct{ auth.AllowAll }

func (l LoopbackOnly) Authenticate(ctx context.Context, r *http.Request) (*auth.Grants, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: relay dev without a token key only admits clients on 127.0.0.1", auth.ErrNoCredentials)
	}
	return l.AllowAll.Authenticate(ctx, r)
}

// KeyFor derives relay dev's demo and banner token key from the
// configured signing key: every dev relay sharing that key (a demo across
// several relays, or one restarted) accepts the demo tokens of the others,
// while relay serve, which only knows the configured keys, accepts none of
// them (M5 of the 2026-12 review).
func KeyFor(signingKey string) string {
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write([]byte("hookrelay relay dev demo tokens v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
