package deliverylog

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WriterOptions configure NewWriter. Zero values mean the defaults.
type WriterOptions struct {
	// Queue is the most entries waiting to be stored. Default 4096.
	Queue int
	// QueueBytes bounds the request bodies waiting with them: past it an
	// entry is queued without its body. Default 16 MiB.
	QueueBytes int64
	// Bodies keeps request bodies and headers (redacted) in the log.
	Bodies bool
	// Redact lists JSON fields replaced in kept bodies.
	Redact *Redactor
	// EntryBytes bounds one entry with its body. Default the store's
	// Limits default.
	EntryBytes int
	// Timeout bounds one store call. Default 2 s.
	Timeout time.Duration
	// Node names this process in entries (relay id, Lambda name).
	Node string
	// Logger gets store failures (rate-limited to one a minute).
	Logger *slog.Logger
}

// Stats are the Writer's counters.
type Stats struct {
	Written uint64 // entries stored
	Dropped uint64 // entries dropped because the queue was full
	Failed  uint64 // entries lost to a store error
}

// Writer queues entries without blocking and stores them from one
// goroutine, batching what queued up meanwhile.
type Writer struct {
	store   Appender
	o       WriterOptions
	ch      chan Entry
	queued  atomic.Int64 // body bytes in ch
	written atomic.Uint64
	dropped atomic.Uint64
	failed  atomic.Uint64

	closeOnce sync.Once
	done      chan struct{}
	lastWarn  time.Time
}

// Default WriterOptions.
const (
	DefaultQueue      = 4096
	DefaultQueueBytes = 16 << 20
	maxBatch          = 128
)

// NewWriter starts a writer storing into s. Close stops it.
func NewWriter(s Appender, o WriterOptions) *Writer {
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.EntryBytes <= 0 {
		o.EntryBytes = DefaultEntryBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Redact == nil {
		o.Redact = &Redactor{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w := &Writer{store: s, o: o, ch: make(chan Entry, o.Queue), done: make(chan struct{})}
	go w.run()
	return w
}

// Observe queues e and returns at once; with the queue full, e is dropped
// and counted. It never blocks: it runs on the webhook's answer path.
func (w *Writer) Observe(e Entry) {
	if !w.o.Bodies {
		e.raw, e.rawHeaders = nil, nil
	}
	n := int64(len(e.raw))
	if n > 0 && w.queued.Add(n) > w.o.QueueBytes {
		w.queued.Add(-n)
		e.raw, e.rawHeaders = nil, nil
		e.BodyNote = "body not kept: the log's queue was over its byte bound"
		n = 0
	}
	select {
	case w.ch <- e:
	default:
		w.queued.Add(-n)
		w.dropped.Add(1)
	}
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load()}
}

// Close stores what is queued (within ctx) and stops the writer.
func (w *Writer) Close(ctx context.Context) {
	w.closeOnce.Do(func() { close(w.ch) })
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Entry, 0, maxBatch)
	for e := range w.ch {
		batch = append(batch[:0], w.prepare(e))
	more:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-w.ch:
				if !ok {
					break more
				}
				batch = append(batch, w.prepare(e))
			default:
				break more
			}
		}
		w.store1(batch)
	}
}

func (w *Writer) store1(batch []Entry) {
	ctx, cancel := context.WithTimeout(context.Background(), w.o.Timeout)
	defer cancel()
	if err := w.store.Append(ctx, batch); err != nil {
		w.failed.Add(uint64(len(batch)))
		if now := time.Now(); now.Sub(w.lastWarn) > time.Minute {
			w.lastWarn = now
			w.o.Logger.Warn("delivery log: entries lost", "entries", len(batch), "err", err)
		}
		return
	}
	w.written.Add(uint64(len(batch)))
}

// prepare fills the id, node and the redacted body of e (off the request
// path) and bounds its size.
func (w *Writer) prepare(e Entry) Entry {
	w.queued.Add(-int64(len(e.raw)))
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.ID == "" {
		e.ID = newID(e.Time)
	}
	if e.Node == "" {
		e.Node = w.o.Node
	}
	if e.raw != nil || e.rawHeaders != nil {
		e.Headers = Headers(e.rawHeaders)
		e.Body, e.BodyNote = w.o.Redact.Body(e.raw)
		e.raw, e.rawHeaders = nil, nil
	}
	if len(e.Body) > w.o.EntryBytes {
		e.BodyNote = "body of " + strconv.Itoa(len(e.Body)) + " bytes not kept: over the entry bound of " + strconv.Itoa(w.o.EntryBytes)
		e.Body = nil
	}
	return e
}
