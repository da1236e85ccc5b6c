package e2e_test

import (
	"testing"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestMain removes the relay binary that relaytest builds for the e2e tests.
func TestMain(m *testing.M) { relaytest.Main(m) }
