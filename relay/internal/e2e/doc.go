// Package e2e is hookrelay's browser suite (tests only): real relay
// processes, real redis-server and headless Chromium (chromedp) running the
// demo pages, hookrelay.js, the operator console and the docs' client
// examples. `make e2e` runs it alone; `make test` runs it with the rest.
package e2e
