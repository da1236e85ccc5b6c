package config

import (
	"log/slog"

	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// DeliveryLogWriter starts the delivery log writer the settings describe,
// storing into s and naming node in its entries; nil when delivery_log is
// off. Validate has checked the redact fields.
func (c *Config) DeliveryLogWriter(s deliverylog.Appender, node string, log *slog.Logger) (*deliverylog.Writer, error) {
	if !c.DeliveryLog {
		return nil, nil
	}
	red, err := deliverylog.NewRedactor(c.DeliveryLogRedact)
	if err != nil {
		return nil, err
	}
	return deliverylog.NewWriter(s, deliverylog.WriterOptions{
		Bodies:     c.DeliveryLogBodies,
		Redact:     red,
		EntryBytes: c.DeliveryLogLimits().WithDefaults().EntryBytes,
		Node:       node,
		Logger:     log,
	}), nil
}
