package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

type byteUnit struct {
	suffix string
	mult   int64
}

// byteUnits are the suffixes parseBytes accepts, "B" last so "KiB" is not
// read as "B". Binary units only: "KB" would be ambiguous.
func byteUnits() [4]byteUnit {
	return [4]byteUnit{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
}

// parseBytes reads a byte count: a plain non-negative integer or one with a
// B, KiB, MiB or GiB suffix (65536, 64KiB, 1 MiB).
func parseBytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range byteUnits() {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	// ParseInt alone would take "+5" and "-5": neither is a size.
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("%q is not a byte size (65536, 64KiB, 1MiB)", v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a byte size (65536, 64KiB, 1MiB)", v)
	}
	return n * mult, nil
}

// formatBytes prints n with the largest unit that divides it exactly, so
// parseBytes(formatBytes(n)) == n.
func formatBytes(n int64) string {
	units := byteUnits()
	for _, u := range units[:3] {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
