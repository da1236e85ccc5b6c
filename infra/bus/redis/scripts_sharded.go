package redis

import (
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// On a Redis Cluster the publish script notifies with SPUBLISH (sharded
// pub/sub, Redis 7+): the message goes only to the nodes of the channel's
// shard instead of being broadcast over the cluster bus to every node. The
// channel carries the topic's hash tag, so it is in the slot of the keys the
// script declares, which SPUBLISH inside a script requires.
const (
	publishCall  = "redis.call('PUBLISH',"
	spublishCall = "redis.call('SPUBLISH',"
)

// shardedPublishLua is publishLua with its PUBLISH made SPUBLISH.
func shardedPublishLua() string {
	return strings.Replace(publishLua, publishCall, spublishCall, 1)
}

// newScriptsFor compiles the scripts for a single Redis or a cluster.
func newScriptsFor(cluster bool) scripts {
	s := newScripts()
	if cluster {
		s.publish = goredis.NewScript(shardedPublishLua())
	}
	return s
}
