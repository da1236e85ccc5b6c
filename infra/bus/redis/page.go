package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// readPage reads up to count entries of topic's stream between start and
// end (XRANGE bounds; XREVRANGE bounds when reverse), stopping at the
// history page byte budget. more reports that it stopped there with
// entries left.
func (b *Bus) readPage(ctx context.Context, topic, start, end string, count int, reverse bool) (es []entry, more bool, err error) {
	rev := "0"
	if reverse {
		rev = "1"
	}
	res, err := b.scripts.page.Run(ctx, b.client, []string{b.keys.stream(topic)},
		start, end, count, b.opt.Bus.HistoryPageBytes, rev, b.opt.Bus.MaxEventBytes).Result()
	if err != nil {
		return nil, false, b.unavailable("read "+topic, err)
	}
	xs, more, err := pageReply(res)
	if err != nil {
		return nil, false, b.unavailable("read "+topic, err)
	}
	es, err = parseEntries(xs)
	if err != nil {
		return nil, false, b.unavailable("read "+topic, err)
	}
	return es, more, nil
}

// pageReply turns pageLua's {more, {{id, {field, value, ...}}, ...}} into
// stream messages.
func pageReply(res any) ([]goredis.XMessage, bool, error) {
	reply, ok := res.([]any)
	if !ok || len(reply) != 2 {
		return nil, false, fmt.Errorf("page script reply %T", res)
	}
	list, ok := reply[1].([]any)
	if !ok {
		return nil, false, fmt.Errorf("page script entries %T", reply[1])
	}
	xs := make([]goredis.XMessage, 0, len(list))
	for _, item := range list {
		pair, ok := item.([]any)
		if !ok || len(pair) != 2 {
			return nil, false, fmt.Errorf("page script entry %T", item)
		}
		id, _ := pair[0].(string)
		fields, _ := pair[1].([]any)
		values := make(map[string]any, len(fields)/2)
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			values[k] = fields[i+1]
		}
		xs = append(xs, goredis.XMessage{ID: id, Values: values})
	}
	return xs, toInt(reply[0]) == 1, nil
}

// perRead is how many entries one pipelined XRANGE may read so that its
// reply stays within about one page of bytes when events are at their
// largest; longer reads continue through readPage.
func (b *Bus) perRead() int {
	return max(1, min(fillPage, b.opt.Bus.HistoryPageBytes/b.opt.Bus.MaxEventBytes))
}
