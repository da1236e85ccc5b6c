package bus

import (
	"encoding/json"
	"testing"

	"github.com/hookrelay/hookrelay/infra/event"
)

// The receipt JSON is the contract every way in answers with (and the SDK
// decodes): pin its field names, order and the empty-list form.
func TestReceipts(t *testing.T) {
	pubs := []Published{
		{Event: event.Event{ID: "e1", Topic: "orders.1"}},
		{Event: event.Event{ID: "e2", Topic: "orders.2"}, Duplicate: true},
	}
	got, err := json.Marshal(Receipts(pubs))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"e1","topic":"orders.1","duplicate":false},{"id":"e2","topic":"orders.2","duplicate":true}]`
	if string(got) != want {
		t.Fatalf("Receipts = %s, want %s", got, want)
	}
	if got := AppendReceipts(nil, pubs); string(got) != want {
		t.Fatalf("AppendReceipts = %s, want %s", got, want)
	}
	if got := AppendReceipts(nil, nil); string(got) != "[]" {
		t.Fatalf("AppendReceipts(nil) = %s, want []", got)
	}
	empty, _ := json.Marshal(Receipts(nil))
	if string(empty) != "[]" {
		t.Fatalf("Receipts(nil) = %s, want []", empty)
	}
}
