package bus

import "strconv"

// Receipt is the answer form of one published event, the same on every
// way in (POST /v1/publish, WebSocket publish, webhooks, the publish
// Lambda). The public Go SDK (relay/client) keeps its own copy because it
// must not import internal packages; the JSON is the contract.
type Receipt struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Duplicate bool   `json:"duplicate"`
}

// Receipts builds the receipts of published events, in order. It never
// returns nil, so an empty list encodes as [] not null.
func Receipts(pubs []Published) []Receipt {
	out := make([]Receipt, len(pubs))
	for i, p := range pubs {
		out[i] = Receipt{ID: p.Event.ID, Topic: p.Event.Topic, Duplicate: p.Duplicate}
	}
	return out
}

// AppendReceipts appends the receipts of pubs as a JSON array, the bytes
// json.Marshal(Receipts(pubs)) gives, without reflection or the receipts
// slice: it is every publish answer.
func AppendReceipts(b []byte, pubs []Published) []byte {
	b = append(b, '[')
	for i, p := range pubs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, p.Event.ID)
		b = append(b, `,"topic":`...)
		b = appendString(b, p.Event.Topic)
		b = append(b, `,"duplicate":`...)
		b = strconv.AppendBool(b, p.Duplicate)
		b = append(b, '}')
	}
	return append(b, ']')
}
