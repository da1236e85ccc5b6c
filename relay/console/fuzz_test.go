package console

import (
	"encoding/base64"
	"encoding/binary"
	"testing"
	"time"
)

// FuzzSessionCookie: the cookie parser sees whatever a browser (or an
// attacker) sends; it never panics and accepts nothing it did not issue.
func FuzzSessionCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	s := newSessions("fuzz-admin-key-0123", time.Hour, func() time.Time { return now })
	// A fixed payload, not issue()'s random nonce: fuzz workers rebuild
	// this function and must agree on the one cookie issued.
	payload := make([]byte, 24)
	binary.BigEndian.PutUint64(payload, uint64(now.Add(time.Minute).Unix()))
	enc := base64.RawURLEncoding
	good := enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload))
	f.Add(good)
	f.Add(good[:len(good)-1] + "A")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAA")
	f.Add("..")
	f.Fuzz(func(t *testing.T, v string) {
		if _, err := s.check(v); err == nil && v != good {
			t.Fatalf("accepted a cookie it did not issue: %q", v)
		}
	})
}

// FuzzParseQuery: list filters from the query string never panic, and
// what they accept stays within the log's bounds.
func FuzzParseQuery(f *testing.F) {
	f.Add("shop", "refused", "d-1", "50")
	f.Add("a{b}", "4xx", "", "0")
	f.Add("", "", "", "999999999999999999999")
	f.Fuzz(func(t *testing.T, source, status, id, limit string) {
		q, err := parseQuery(map[string][]string{"source": {source}, "status": {status}, "delivery_id": {id}, "limit": {limit}})
		if err != nil {
			return
		}
		if q.Limit < 0 || q.Limit > 200 || len(q.Status) > 20 || len(q.DeliveryID) > 256 {
			t.Fatalf("accepted out-of-bounds query %+v", q)
		}
	})
}
