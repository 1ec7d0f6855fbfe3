package main

import (
	"bufio"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Garbage collector defaults of the server process. A statement allocates little that outlives
// it, so the collector's work is mostly proportional to how often it runs: the default GOGC of
// 100 spent 5-8 % of the CPU in oltp_read_only profiles. The server runs with GOGC=400 and, as a
// safety net for that headroom, a soft memory limit of 3/4 of the machine's memory, so the heap
// is collected harder before it could push the machine into swap. GOGC and GOMEMLIMIT in the
// environment override either (the Go runtime reads them itself).
const (
	defaultGOGC           = 400
	defaultMemLimitShare  = 0.75
	minDefaultMemoryLimit = 512 << 20
)

// tuneGC applies the defaults above where the environment does not set them, and logs what the
// process runs with.
func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := physicalMemory(); total > 0 {
			limit := max(int64(float64(total)*defaultMemLimitShare), minDefaultMemoryLimit)
			debug.SetMemoryLimit(limit)
		}
	}
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	log.Info("garbage collector", "gogc", gogc, "memory_limit_mib", debug.SetMemoryLimit(-1)>>20)
}

// physicalMemory reads MemTotal from /proc/meminfo (0 when it cannot).
func physicalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
