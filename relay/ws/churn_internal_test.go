package ws

import (
	"testing"
	"time"
)

func TestChurnBucketRefills(t *testing.T) {
	var b churnBucket
	t0 := time.Unix(1000, 0)
	if ok, _ := b.take(t0, 10, 100, 100); !ok {
		t.Fatal("a full bucket refused its burst")
	}
	ok, wait := b.take(t0, 10, 100, 5)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok %v wait %s, want refused for 500ms", ok, wait)
	}
	if ok, _ := b.take(t0.Add(wait), 10, 100, 5); !ok {
		t.Fatal("refused after the wait it named")
	}
	// A frame larger than the burst is clamped, never refused for ever.
	if ok, _ := b.take(t0.Add(time.Hour), 10, 100, 500); !ok {
		t.Fatal("a frame above the burst was refused after a full refill")
	}
}
