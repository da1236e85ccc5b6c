package webhook

import (
	"testing"
	"time"
)

// The expected values come from the providers' documentation (GitHub,
// Standard Webhooks) or were computed independently with openssl:
//
//	printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -binary | base64
func TestSignVectors(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{
			// docs.github.com "Validating webhook deliveries", test values.
			"github docs", SignGitHub("It's a Secret to Everybody", []byte("Hello, World!")),
			"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		},
		{
			// The Standard Webhooks specification's test vector.
			"standard spec", SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
				time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)),
			"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{
			"shopify openssl", SignShopify("shpss_test_secret", []byte(`{"id":820982911946154508,"email":"jon@example.com"}`)),
			"LnwdZPLBbdjkBwPD/lDL1/rYEGby/GHPtL1aAH6Dxjc=",
		},
		{
			"stripe openssl", SignStripe("whsec_test_secret", time.Unix(1700000000, 0), []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)),
			"t=1700000000,v1=22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31",
		},
		{
			"hmac sha1 base64 openssl", SignHMAC("key", "sha1", "base64", "", []byte("Hello, World!")),
			"toj28mAkdLhnE/GTcmdV8Ale3Is=",
		},
		{
			"hmac default is github's", SignHMAC("It's a Secret to Everybody", "", "", "sha256=", []byte("Hello, World!")),
			"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		},
		{"standard bad secret", SignStandard("whsec_!!", "id", time.Unix(1, 0), nil), ""},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}
