package sse_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// TestRedisBusEndToEnd runs the stream over the production bus: live
// events on two topics, then a reconnect with the cursor that gets exactly
// what was missed (replayed from the Redis streams).
func TestRedisBusEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	e, _, _ := newRedisEnv(t, redistest.Start(t), redis.Options{})
	hs := e.Srv

	topics := []string{"order:1", "order:2"}
	first := streamtest.NewRecorder()
	sub, stop := first.Run(t, client.Options{BaseURL: hs.URL, Topics: topics, Once: true})
	first.WaitOpen(t)
	want := e.Publish(t, "order:1", 2, `{}`)
	want = append(want, e.Publish(t, "order:2", 2, `{}`)...)
	streamtest.SameEvents(t, first.Wait(t, 4), want)
	stop()

	missed := e.Publish(t, "order:2", 2, `{}`)
	second := streamtest.NewRecorder()
	second.Run(t, client.Options{BaseURL: hs.URL, Topics: topics, Cursor: sub.Cursor()})
	second.WaitOpen(t)
	streamtest.SameEvents(t, second.Wait(t, 2), missed)
	live := e.Publish(t, "order:1", 1, `{}`)
	streamtest.SameEvents(t, second.Wait(t, 1), append(missed, live...))
}

// TestRedisDownRefusesRetryable: with Redis unreachable a new stream is refused
// as retryable (bus_unavailable: 200, retry: and a close event), and
// works again once Redis is back.
func TestRedisDownRefusesRetryable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	srv := redistest.Start(t)
	e, rb, h := newRedisEnv(t, srv, redis.Options{
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})

	srv.Kill()
	checkRefusal(t, e, "/v1/sse?topic=a:1", 1013, "bus_unavailable")
	if h.Connections() != 0 {
		t.Fatalf("%d connections left after a refused stream", h.Connections())
	}
	// With a cursor no bus call precedes the headers: the replay fails
	// after them, and the stream ends with a close event and slower retry.
	_, br := rawGet(t, e, "/v1/sse?topic=a:1&cursor=1-0", nil)
	if f := readFrames(t, br, 1); f[0] != "retry: 2000\nretry: 5000\n"+`event: close`+"\n"+`data: {"code":1011,"reason":"internal error","retry":5000}` {
		t.Fatalf("frames %q", f)
	}
	streamtest.WaitFor(t, "the failed stream to be forgotten", func() bool { return h.Connections() == 0 })
	srv.Restart()
	streamtest.WaitFor(t, "redis back", func() bool { return rb.Ready(context.Background()) == nil })
	_, br = rawGet(t, e, "/v1/sse?topic=a:1", nil)
	if f := readFrames(t, br, 1); !strings.HasPrefix(f[0], "retry: 2000\nevent: ready") {
		t.Fatalf("frames %q", f)
	}
}

// TestBusyPoolRefusesOverCapacity: with Redis healthy but every one of the
// node's pooled Redis connections busy past the pool timeout (here the one
// connection of a pool of one, held by a durable publish's WAIT for a
// replica that does not exist), a new stream that needs its start position
// is refused as over_capacity, not as bus_unavailable (which tells
// operators Redis is down), and it opens once the pool is free.
func TestBusyPoolRefusesOverCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	srv := redistest.Start(t)
	e, rb, _ := newRedisEnv(t, srv, redis.Options{PoolSize: 1,
		ReadTimeout: 200 * time.Millisecond, WaitReplicas: 1, WaitTimeout: 5 * time.Second})

	held := make(chan error, 1)
	go func() {
		_, err := rb.Publish(context.Background(), []bus.Message{{Topic: "a:1", Type: "t", Source: "s", Data: []byte(`{}`)}})
		held <- err
	}()
	watch := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer watch.Close()
	streamtest.WaitFor(t, "the publish's WAIT to hold the pool's connection", func() bool {
		list, err := watch.ClientList(context.Background()).Result()
		return err == nil && strings.Contains(list, "cmd=wait")
	})
	checkRefusal(t, e, "/v1/sse?topic=a:1", 1013, "over_capacity")
	if err := <-held; !bus.Retryable(err) {
		t.Fatalf("durable publish without a replica: %v, want retryable", err)
	}
	_, br := rawGet(t, e, "/v1/sse?topic=a:1", nil)
	if f := readFrames(t, br, 1); !strings.HasPrefix(f[0], "retry: 2000\nevent: ready") {
		t.Fatalf("frames %q", f)
	}
}

// newRedisEnv serves streams from a hub on a Redis bus opened with opts
// (URL and prefix filled in) against srv.
func newRedisEnv(t *testing.T, srv *redistest.Server, opts redis.Options) (*env, *redis.Bus, *hub.Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts.URL, opts.Prefix = srv.URL(), "t-"+t.Name()
	rb, err := redis.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rb.Close() })
	h := hub.New(rb, hub.Options{Registerer: prometheus.NewRegistry()})
	t.Cleanup(h.Close)
	hs := httptest.NewServer(sse.NewHandler(h, sse.Options{Auth: auth.AllowAll{}}))
	t.Cleanup(hs.Close)
	return &env{&streamtest.Env{Bus: rb, Hub: h, Srv: hs}}, rb, h
}
