package redis_test

import (
	"context"
	"crypto/tls"
	"log"
	"os"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/redis"
)

// A relay node on ElastiCache with IAM authentication: the credentials
// provider signs a fresh 15-minute token for every new connection, and the
// pub/sub connection is replaced (re-authenticated) every 11 hours.
func ExampleNew() {
	ctx := context.Background()
	b, err := redis.New(ctx, redis.Options{
		URL:       os.Getenv("REDIS_URL"), // rediss://relay@my-cache.xxxxxx.use1.cache.amazonaws.com:6379
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		CredentialsProvider: func(ctx context.Context) (string, string, error) {
			return "relay", signIAMToken(ctx), nil
		},
		Bus: bus.Options{HistoryLen: 500, HistoryTTL: 24 * time.Hour},
	})
	if err != nil {
		log.Fatal(err) // wraps bus.ErrUnavailable when Redis cannot be reached
	}
	defer b.Close()
	if _, err := b.Publish(ctx, []bus.Message{{Topic: "order:1042", Type: "order.shipped", Source: "shopify"}}); err != nil {
		log.Print(err)
	}
}

// signIAMToken stands in for a SigV4-presigned ElastiCache connect request
// (aws-sdk-go-v2), built in the composition root.
func signIAMToken(context.Context) string { return "" }
