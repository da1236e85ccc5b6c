package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

func (r *Report) print(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "bus=%s relays=%d conns=%d transport=%s topics=%d rate=%.0f/s duration=%s\n",
		c.Bus, c.Relays, c.Conns, c.Transport, c.Topics, c.Rate, c.Duration)
	fmt.Fprintf(w, "  connections ready     %d (errors %d)\n", r.Ready, r.ConnErrors)
	for i, v := range r.RSSPerConn {
		fmt.Fprintf(w, "  relay %d RSS           %.1f MiB, %.2f KiB per connection\n", i, float64(r.RelayRSS[i])/(1<<20), v/1024)
	}
	fmt.Fprintf(w, "  published             %d (errors %d)\n", r.Published, r.PublishErrs)
	fmt.Fprintf(w, "  deliveries            %d of %d expected, %.0f/s\n", r.Received, r.Expected, r.DeliveriesPS)
	fmt.Fprintf(w, "  lost / duplicated     %d / %d (kicked %d)\n", r.Lost, r.Dups, r.Kicked)
	fmt.Fprintf(w, "  latency p50/p99/max   %s / %s / %s (read by the load tool)\n", r.P50, r.P99, r.Max)
	fmt.Fprintf(w, "  at socket p50/p99/max %s / %s / %s (kernel receive timestamp; %d of the deliveries had one)\n",
		r.RxP50, r.RxP99, time.Duration(r.RxMaxUS)*time.Microsecond, r.RxStamped)
	if r.Resumes > 0 {
		fmt.Fprintf(w, "  resumed connections   %d (first end: %s)\n", r.Resumes, r.FirstDrop)
	}
	fmt.Fprintf(w, "  catch-up after last   %s (subscribers still behind: %d)\n", r.CatchUp.Round(time.Millisecond), r.Behind)
	fmt.Fprintf(w, "  relay CPU             %s, %.2f µs per delivery\n", r.RelayCPU, r.CPUPerDeliv)
	fmt.Fprintf(w, "  load tool CPU         %s, %.2f µs per delivery\n", r.LoadCPU, r.LoadCPUPerDeliv)
	fmt.Fprintf(w, "  load average at end   %s\n", r.LoadAvg)
}

func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
