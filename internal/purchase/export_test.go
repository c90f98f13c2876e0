package purchase

// SetRequestChunk makes passes take n requests a chunk until the returned
// function is called: with a few requests, several chunks worked on at
// once (what the race detector must see).
func SetRequestChunk(n int) (restore func()) {
	old := requestChunk
	requestChunk = n
	return func() { requestChunk = old }
}
