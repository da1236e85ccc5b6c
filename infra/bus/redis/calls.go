package redis

// Concurrent publishes share script calls as well as round trips: the
// messages of a pipeline go to Redis as few publishLua calls as they allow,
// so what a call costs Redis whatever it carries (the command, the script's
// setup, the replication id read) is paid once per group. A script runs on
// one node and, on a cluster, may touch keys of one slot only, so there a
// call carries messages of one topic (every key of a topic is in its hash
// tag's slot); on a single Redis a call carries consecutive messages of any
// topics. Per topic order holds either way: a topic's messages keep their
// order inside a call, and a node runs the calls of a pipeline in order.
//
// Redis runs nothing else while a script runs, so one call is bounded.
const (
	maxCallMessages = 64
	maxCallBytes    = 256 << 10 // event bodies; one larger message goes alone
)

// calls splits the messages at idx into script calls of at most perCall
// messages, each a list of indexes in publish order.
func calls(preps []*prepared, idx []int, cluster bool, perCall int) [][]int {
	var out [][]int
	var size []int
	open := map[string]int{} // topic (or "" on a single Redis) → its call being filled
	for _, i := range idx {
		key := ""
		if cluster {
			key = preps[i].msg.Topic
		}
		n := len(preps[i].body)
		g, ok := open[key]
		if !ok || len(out[g]) >= perCall || size[g]+n > maxCallBytes {
			g = len(out)
			out = append(out, nil)
			size = append(size, 0)
			open[key] = g
		}
		out[g] = append(out[g], i)
		size[g] += n
	}
	return out
}
