// Package console is the operator console served at /console by relay
// serve and relay dev: every webhook delivery with its verification result
// (and replay), a signed test delivery per source, the live fleet, and a
// live tail of any topic. It has its own credential, the admin key
// (HOOKRELAY_ADMIN_KEY), exchanged for a short-lived HttpOnly,
// SameSite=Strict session cookie; every state-changing call also needs the
// session's CSRF token and a same-origin Origin. Without an admin key the
// console answers 404 to everything. Its page and script are embedded:
// nothing is fetched from elsewhere at run time. See docs/console.md.
package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/fleet"
	"github.com/hookrelay/hookrelay/infra/limit"
)

//go:embed static
var static embed.FS

// Hooks is what the console asks of the webhook handler
// (webhook.NewConsole returns one).
type Hooks interface {
	Sources() []string
	Provider(source string) string
	Replay(ctx context.Context, e deliverylog.Entry, newID bool) (deliverylog.Answer, error)
	SendTest(ctx context.Context, source, typ string, body []byte) (deliverylog.Answer, error)
}

// Options configure New. Zero values mean the defaults.
type Options struct {
	// AdminKey is the console's credential; "" disables the console.
	AdminKey string
	// SessionTTL is a session's lifetime. Default 30 minutes.
	SessionTTL time.Duration
	// Log is the delivery log; nil shows the log as turned off.
	Log deliverylog.Store
	// Fleet lists the relays.
	Fleet fleet.Store
	// Hooks replays and sends test deliveries; nil disables both.
	Hooks Hooks
	// Bus feeds the live tail.
	Bus bus.Bus
	// Closing, when closed, ends every live tail (the relay is draining:
	// a tail must not hold the shutdown up).
	Closing <-chan struct{}
	// MaxTails bounds concurrent live tails on this relay. Default 8.
	MaxTails int
	// LoginRate bounds sign-in attempts per client address, per second
	// (burst 5). Default 0.2.
	LoginRate float64
	// ClientIP keys the sign-in limit. Default the peer address.
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultSessionTTL = 30 * time.Minute
	DefaultMaxTails   = 8
	DefaultLoginRate  = 0.2
	requestTimeout    = 30 * time.Second
	maxRequestBody    = 1 << 20
)

type console struct {
	o        Options
	sess     *sessions
	keySum   [sha256.Size]byte
	logins   *limit.Keyed
	tails    chan struct{}
	disabled bool
}

// New returns the /console handler.
func New(o Options) http.Handler {
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.MaxTails <= 0 {
		o.MaxTails = DefaultMaxTails
	}
	if o.LoginRate <= 0 {
		o.LoginRate = DefaultLoginRate
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ClientIP == nil {
		o.ClientIP = func(r *http.Request) string { return limit.IPKey(limit.ClientIP(r, false)) }
	}
	c := &console{o: o, disabled: o.AdminKey == "", tails: make(chan struct{}, o.MaxTails),
		logins: limit.NewKeyed(o.LoginRate, 5, 10*time.Minute)}
	c.keySum = sha256.Sum256([]byte(o.AdminKey))
	c.sess = newSessions(o.AdminKey, o.SessionTTL, o.Now)
	return c.routes()
}

func (c *console) routes() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static") // the embedded directory exists
	files := http.FileServerFS(sub)
	mux.Handle("GET /console/", http.StripPrefix("/console", files))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	})
	mux.Handle("POST /console/api/login", c.bounded(c.open(c.login)))
	mux.Handle("POST /console/api/logout", c.bounded(c.change(c.logout)))
	mux.Handle("GET /console/api/session", c.bounded(c.read(c.session)))
	mux.Handle("GET /console/api/sources", c.bounded(c.read(c.sources)))
	mux.Handle("GET /console/api/deliveries", c.bounded(c.read(c.deliveries)))
	mux.Handle("GET /console/api/deliveries/{source}/{id}", c.bounded(c.read(c.delivery)))
	mux.Handle("POST /console/api/deliveries/{source}/{id}/replay", c.bounded(c.change(c.replay)))
	mux.Handle("POST /console/api/sources/{source}/test", c.bounded(c.change(c.sendTest)))
	mux.Handle("GET /console/api/fleet", c.bounded(c.read(c.fleet)))
	mux.Handle("GET /console/api/tail", c.read(c.tail))
	unknown := c.bounded(c.read(func(http.ResponseWriter, *http.Request) error {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, "no such console call")
	}))
	mux.Handle("GET /console/api/", unknown)
	mux.Handle("POST /console/api/", unknown)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if c.disabled {
			writeErr(w, refuse(apierr.CodeNotFound, http.StatusNotFound, "the operator console is off: set HOOKRELAY_ADMIN_KEY to turn it on"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// handlerFunc is a console call; errors are rendered by writeErr.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// open needs no session (sign-in) but a same-origin browser.
func (c *console) open(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r, true); err != nil {
			writeErr(w, refuse(apierr.CodeForbidden, http.StatusForbidden, err.Error()))
			return
		}
		if err := f(w, r); err != nil {
			writeErr(w, err)
		}
	})
}

// read needs a session and no cross-site request.
func (c *console) read(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r, false); err != nil {
			writeErr(w, refuse(apierr.CodeForbidden, http.StatusForbidden, err.Error()))
			return
		}
		if _, _, err := c.sess.fromRequest(r); err != nil {
			writeErr(w, refuse(apierr.CodeUnauthorized, http.StatusUnauthorized, err.Error()))
			return
		}
		if err := f(w, r); err != nil {
			writeErr(w, err)
		}
	})
}

// change needs a session, its CSRF token and a same-origin Origin.
func (c *console) change(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r, true); err != nil {
			writeErr(w, refuse(apierr.CodeForbidden, http.StatusForbidden, err.Error()))
			return
		}
		v, _, err := c.sess.fromRequest(r)
		if err != nil {
			writeErr(w, refuse(apierr.CodeUnauthorized, http.StatusUnauthorized, err.Error()))
			return
		}
		got := r.Header.Get(CSRFHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(c.sess.csrf(v))) != 1 {
			writeErr(w, refuse(apierr.CodeForbidden, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		if err := f(w, r); err != nil {
			writeErr(w, err)
		}
	})
}

// bounded sets read and write deadlines on a short call's connection.
func (c *console) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(requestTimeout)
		// Not every ResponseWriter has deadlines (test recorders); the call
		// then runs unbounded.
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		next.ServeHTTP(w, r)
	})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) error {
	if ok, retry := c.logins.Allow(c.o.ClientIP(r)); !ok {
		return apierr.RateLimited(retry, "too many sign-in attempts from this address; wait and retry")
	}
	var in struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		return refuse(apierr.CodeBadRequest, http.StatusBadRequest, "want {\"key\": \"<admin key>\"}")
	}
	sum := sha256.Sum256([]byte(in.Key))
	if subtle.ConstantTimeCompare(sum[:], c.keySum[:]) != 1 {
		c.o.Logger.Warn("console: sign-in refused", "client", c.o.ClientIP(r))
		return refuse(apierr.CodeUnauthorized, http.StatusUnauthorized, "wrong admin key")
	}
	v, exp := c.sess.issue()
	http.SetCookie(w, cookie(r, v, exp))
	c.o.Logger.Info("console: signed in", "client", c.o.ClientIP(r))
	return writeJSON(w, http.StatusOK, map[string]any{"csrf": c.sess.csrf(v), "expires": exp})
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, cookie(r, "", time.Unix(0, 0)))
	return writeJSON(w, http.StatusOK, map[string]any{"signed_out": true})
}

func (c *console) session(w http.ResponseWriter, r *http.Request) error {
	v, exp, err := c.sess.fromRequest(r)
	if err != nil {
		return refuse(apierr.CodeUnauthorized, http.StatusUnauthorized, err.Error())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"csrf": c.sess.csrf(v), "expires": exp,
		"delivery_log": c.o.Log != nil, "hooks": c.o.Hooks != nil})
}

// refuse is a console answer other than success, from the one error
// catalogue (infra/apierr); the message says what the console wants.
func refuse(code string, status int, msg string) *apierr.Error {
	return &apierr.Error{Code: code, Status: status, Message: msg}
}

// writeErr renders err through the catalogue.
func writeErr(w http.ResponseWriter, err error) {
	var e *apierr.Error
	if !errors.As(err, &e) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e = apierr.TooLarge(tooBig.Limit)
		} else {
			e = apierr.Internal(err)
		}
	}
	apierr.Write(w, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
