package ws

// presenceFrame turns a presence update ({"topic":...}, shared by every
// watcher) into the WS frame {"op":"presence","topic":...}.
func presenceFrame(js []byte) []byte {
	const head = `{"op":"presence",`
	if len(js) < 2 || js[0] != '{' {
		return []byte(`{"op":"presence"}`)
	}
	b := make([]byte, 0, len(head)+len(js)-1)
	b = append(b, head...)
	return append(b, js[1:]...)
}
