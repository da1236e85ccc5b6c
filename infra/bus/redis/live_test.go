package redis

import (
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/event"
)

func TestParseLive(t *testing.T) {
	prev, id, js, err := parseLive(`1700000000000-3 {"id":"1700000000001-0","topic":"a"}`)
	if err != nil || prev != (event.ID{MS: 1700000000000, Seq: 3}) || id != (event.ID{MS: 1700000000001}) ||
		string(js) != `{"id":"1700000000001-0","topic":"a"}` {
		t.Fatalf("got %v %v %s %v", prev, id, js, err)
	}
	// The form the publish script sends: "<prev> <id> <body without id>".
	prev, id, js, err = parseLive(`1700000000000-3 1700000000001-0 {"topic":"a","data":{}}`)
	if err != nil || prev != (event.ID{MS: 1700000000000, Seq: 3}) || id != (event.ID{MS: 1700000000001}) ||
		string(js) != `{"id":"1700000000001-0","topic":"a","data":{}}` {
		t.Fatalf("got %v %v %s %v", prev, id, js, err)
	}
	for _, bad := range []string{
		"",
		"0-0",
		` {"id":"1-0"}`,
		`0-0 {"topic":"a"}`,
		`0-0 {"id":"1-0`,
		`x-0 {"id":"1-0","topic":"a"}`,
		`0-0 {"id":"1-x","topic":"a"}`,
		`5-0 {"id":"5-0","topic":"a"}`, // not after prev
		`0-0 1-0`,
		`0-0 1-0 `,
		`0-0 1-0 {"id":"2-0","topic":"a"}`, // two ids that disagree
		`0-0 1-0 {"type":"a"}`,
		`0-0 01-0 {"topic":"a"}`,
		`5-0 5-0 {"topic":"a"}`,
		`0-0  {"topic":"a"}`,
	} {
		if _, _, _, err := parseLive(bad); err == nil {
			t.Errorf("parseLive(%q) accepted", bad)
		}
	}
}

func FuzzParseLive(f *testing.F) {
	f.Add(`0-0 {"id":"1700000000000-0","topic":"order:1","type":"t","time":"2026-01-01T00:00:00Z","data":{}}`)
	f.Add(`1700000000000-3 {"id":"1700000000000-4","topic":"a"}`)
	f.Add(`1-0 {"id":"1-0"}`)
	f.Add(` {"id":"`)
	f.Add(`0-0 1700000000000-0 {"topic":"order:1","type":"t","time":"2026-01-01T00:00:00Z","data":{}}`)
	f.Add(`1-0 2-0 {"topic":`)
	f.Fuzz(func(t *testing.T, payload string) {
		prev, id, js, err := parseLive(payload)
		if err != nil {
			return
		}
		if id.Compare(prev) <= 0 {
			t.Fatalf("id %v not after prev %v", id, prev)
		}
		if !strings.HasPrefix(string(js), `{"id":"`+id.String()+`"`) {
			t.Fatalf("json %q does not start with id %v", js, id)
		}
		// The json is the payload's tail, whole or (body without id) with
		// the id spliced in (ids are canonical when they parse: no signs or
		// leading '+').
		head := `{"id":"` + id.String() + `",`
		whole := strings.HasSuffix(payload, " "+string(js))
		spliced := strings.HasPrefix(string(js), head) &&
			strings.HasSuffix(payload, " "+id.String()+" {"+string(js[len(head):]))
		if !whole && !spliced {
			t.Fatalf("json %q is not the payload's tail %q", js, payload)
		}
	})
}

func FuzzParseEntry(f *testing.F) {
	f.Add("1700000000000-1", "1700000000000-0", `{"id":"1700000000000-1","topic":"a"}`)
	f.Add("1-0", "0-0", `{"topic":"a"}`)
	f.Add("1-0", "0-0", `{"topic":"a","data":{}}`)
	f.Add("1-0", "0-0", `{"id":"1-0","topic":"a"}`)
	f.Fuzz(func(t *testing.T, id, prev, js string) {
		// Entries hold e (JSON with id, older scripts) or b (body without
		// id); both field names get every input.
		for _, field := range []string{"e", "b"} {
			checkEntry(t, id, prev, field, js)
		}
	})
}

func checkEntry(t *testing.T, id, prev, field, js string) {
	t.Helper()
	e, err := parseEntry(goredis.XMessage{ID: id, Values: map[string]any{"p": prev, field: js}})
	if err != nil {
		return
	}
	if e.id.String() == "" || !strings.HasPrefix(string(e.json), idPrefix+e.id.String()+`"`) && field == "b" ||
		!strings.HasPrefix(string(e.json), idPrefix) {
		t.Fatalf("accepted %s=%q (id %q prev %q) as %+v", field, js, id, prev, e)
	}
}
