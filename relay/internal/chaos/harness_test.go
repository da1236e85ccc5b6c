package chaos

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

func TestMain(m *testing.M) {
	stormWorkerMain() // a storm load worker runs and exits here
	relaytest.Main(m)
}

// scale is the size of a scenario: the short one runs in plain go test on a
// shared 2-core machine, the full one (HOOKRELAY_CHAOS=full) is make chaos.
type scale struct {
	subs         int           // subscribers, half SSE half WebSocket
	topics       int           // topics published to
	topicsPerSub int           // topics each subscriber follows
	rate         int           // events per second over all topics
	publishFor   time.Duration // length of the steady publishing phase
	settle       time.Duration // how long delivery may take after the last publish
}

func scaleFor(t testing.TB) scale {
	if os.Getenv("HOOKRELAY_CHAOS") == "full" {
		return scale{subs: 300, topics: 24, topicsPerSub: 4, rate: 300, publishFor: 20 * time.Second, settle: 60 * time.Second}
	}
	if testing.Short() {
		return scale{subs: 30, topics: 8, topicsPerSub: 3, rate: 100, publishFor: 2 * time.Second, settle: 30 * time.Second}
	}
	return scale{subs: 100, topics: 12, topicsPerSub: 3, rate: 150, publishFor: 4 * time.Second, settle: 30 * time.Second}
}

// webhookSource is the Standard Webhooks source every relay of the cluster
// serves at /hooks/chaos: the delivery's JSON body names its topic and is
// the event's data, so a webhook event carries the same seq as an API one.
const webhookSource = "chaos"

// clusterOpts tune a cluster.
type clusterOpts struct {
	env        []string // extra relay environment (HOOKRELAY_HISTORY_LEN=...)
	redisProxy bool     // relays reach Redis through a FaultProxy
	// proxied lists the relays that use the proxy (nil: all of them).
	proxied []int
	relays  int // default 3
	// redisCluster, when set, is the Redis the relays use (cluster mode)
	// instead of one redis-server.
	redisCluster *redistest.Cluster
}

// cluster is one real redis-server (or a Redis Cluster), N relay
// processes (relay serve) and the LB in front of them.
type cluster struct {
	t          *testing.T
	redis      *redistest.Server // nil on a Redis Cluster
	redisProxy *FaultProxy       // nil unless clusterOpts.redisProxy
	relays     []*relaytest.Relay
	lb         *LB
	secret     string // whsec_... of the webhook source
}

func startCluster(t *testing.T, o clusterOpts) *cluster {
	t.Helper()
	c := &cluster{t: t}
	var redisURL, proxyURL string
	if o.redisCluster != nil {
		redisURL = o.redisCluster.URL()
		o.env = append([]string{"HOOKRELAY_REDIS_CLUSTER=true"}, o.env...)
	} else {
		c.redis = redistest.Start(t)
		redisURL = c.redis.URL()
	}
	if o.redisProxy {
		p, err := NewFaultProxy(c.redis.Addr())
		if err != nil {
			t.Fatalf("redis proxy: %v", err)
		}
		t.Cleanup(p.Close)
		c.redisProxy = p
		proxyURL = "redis://" + p.Addr
	}
	c.secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("chaos-webhook-secret-0123456789ab"))
	cfg := filepath.Join(t.TempDir(), "hookrelay.yaml")
	yaml := fmt.Sprintf(`sources:
  - name: %s
    provider: standard
    secrets: [%q]
    rules:
      - match: {type: "chaos.*"}
        events:
          - topic: '{{.Body.topic}}'
`, webhookSource, c.secret)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"HOOKRELAY_CONFIG=" + cfg,
		// The publishers are one API key; the suite measures the relay,
		// not the rate limiter.
		"HOOKRELAY_PUBLISH_RATE=100000", "HOOKRELAY_PUBLISH_BURST=100000",
		"HOOKRELAY_LOG_LEVEL=info",
	}, o.env...)
	n := o.relays
	if n == 0 {
		n = 3
	}
	addrs := make([]string, n)
	for i := range n {
		url := redisURL
		if proxyURL != "" && (o.proxied == nil || slices.Contains(o.proxied, i)) {
			url = proxyURL
		}
		r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: url, Env: env})
		c.relays = append(c.relays, r)
		addrs[i] = r.Addr
	}
	lb, err := NewLB(addrs...)
	if err != nil {
		t.Fatalf("lb: %v", err)
	}
	t.Cleanup(lb.Close)
	c.lb = lb
	return c
}

// token is a subscriber token for every chaos topic.
func (c *cluster) token(sub string) string {
	c.t.Helper()
	tok, err := auth.Mint(relaytest.TokenKey, auth.MintClaims{Subject: sub, Topics: []string{"chaos:*"}, TTL: time.Hour, Audience: "hookrelay"})
	if err != nil {
		c.t.Fatalf("mint token: %v", err)
	}
	return tok
}

// restartRelay starts relay i again on its address (after Stop or Kill)
// and waits until the LB sees it healthy.
func (c *cluster) restartRelay(i int) {
	c.t.Helper()
	c.relays[i].Restart(c.t)
	c.waitHealthy(c.relays[i].Addr)
}

func (c *cluster) waitHealthy(addr string) {
	c.t.Helper()
	waitFor(c.t, "lb sees "+addr+" healthy", 10*time.Second, func() bool { return c.lb.Healthy(addr) })
}

// waitFor polls cond until it holds; it fails the test after timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

func topicName(i int) string { return "chaos:t" + strconv.Itoa(i) }

// metricSum adds an unlabelled metric over the relays that answer.
func (c *cluster) metricSum(name string) float64 {
	var sum float64
	for _, r := range c.relays {
		text, err := fetch(r.URL + api.MetricsPath)
		if err != nil {
			continue // a relay being restarted
		}
		if v, err := MetricValue(text, name); err == nil {
			sum += v
		}
	}
	return sum
}

// metricOf is an unlabelled metric of relay i (-1 when it does not answer).
func (c *cluster) metricOf(i int, name string) float64 {
	text, err := fetch(c.relays[i].URL + api.MetricsPath)
	if err != nil {
		return -1
	}
	v, err := MetricValue(text, name)
	if err != nil {
		return -1
	}
	return v
}
