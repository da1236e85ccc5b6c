package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/webhook"
)

// The signing helpers reproduce the providers' documented examples.
func ExampleSignGitHub() {
	fmt.Println(webhook.SignGitHub("It's a Secret to Everybody", []byte("Hello, World!")))
	// Output: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}

func ExampleNew() {
	sources := []config.WebhookSource{{Name: "shop", Provider: "shopify", Secrets: []string{"shpss_example"}, Preset: "shopify"}}
	h, err := webhook.New(context.Background(), sources, memory.New(bus.Options{}), webhook.Options{})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/{source}", h)

	body := `{"id":1042,"name":"#1042","total_price":"12.00","currency":"EUR","customer":{"id":7}}`
	r := httptest.NewRequest("POST", "/hooks/shop", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Shopify-Topic", "orders/fulfilled")
	r.Header.Set("X-Shopify-Webhook-Id", "example-1")
	r.Header.Set("X-Shopify-Hmac-Sha256", webhook.SignShopify("shpss_example", []byte(body)))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.Count(w.Body.String(), `"topic":"order:1042"`), strings.Count(w.Body.String(), `"topic":"customer:7"`))
	// Output: 200 1 1
}
