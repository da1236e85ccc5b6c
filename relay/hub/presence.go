package hub

// SendPresence queues a presence update (a KindPresence item). js is
// encoded once per topic and update and shared by every watcher: never
// modify it. It counts against QueueSize like an event.
func (c *Client) SendPresence(topic string, js []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enqueueLocked(Item{Kind: KindPresence, Topic: topic, JSON: js}, true)
}
