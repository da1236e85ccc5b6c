// Package web serves the browser client (hookrelay.js and its TypeScript
// declarations) and the demo pages, embedded in the relay binary.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"regexp"
	"time"
)

//go:embed static
var static embed.FS

// Files returns the embedded files (rooted at static/).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is embedded above: this cannot fail
	}
	return sub
}

// exportRE matches the `export` keywords of hookrelay.js's top-level
// declarations, which a classic <script> cannot parse.
var exportRE = regexp.MustCompile(`(?m)^export (class|function|async function|const) `)

// GlobalScript turns the ES module into a classic script that defines
// window.hookrelay, so pages without modules can use a plain <script src>.
func GlobalScript(module []byte) []byte {
	body := exportRE.ReplaceAll(module, []byte("$1 "))
	var b bytes.Buffer
	b.WriteString("(function () {\n\"use strict\";\n")
	b.Write(body)
	b.WriteString("\nwindow.hookrelay = { Client, connect, tokenExpiry, unread, markRead, history, Presence, presence };\n})();\n")
	return b.Bytes()
}

// Handler serves the demo pages at /, the client at /hookrelay.js (ES
// module), /hookrelay.global.js (classic script) and /hookrelay.d.ts.
func Handler() http.Handler {
	files := Files()
	module, err := fs.ReadFile(files, "hookrelay.js")
	if err != nil {
		panic(err) // embedded above: cannot fail
	}
	global := GlobalScript(module)
	mux := http.NewServeMux()
	fileServer := http.FileServerFS(files)
	mux.HandleFunc("GET /hookrelay.global.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeContent(w, r, "hookrelay.global.js", time.Time{}, bytes.NewReader(global))
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		if r.URL.Path == "/hookrelay.d.ts" {
			w.Header().Set("Content-Type", "application/typescript; charset=utf-8")
		}
		fileServer.ServeHTTP(w, r)
	})
	return mux
}
