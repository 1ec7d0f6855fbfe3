package main

// relaydb switchover: a planned change of primary, run by the cluster (journaled like every
// decision) and reported here when it ends.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/cluster"
	"github.com/relaydb/relaydb/internal/config"
)

func runSwitchover(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relaydb switchover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("cluster-addr", "", "any member's cluster port, HOST:PORT (default: the members of the `relaydb up` cluster in --datadir)")
	dataDir := fs.String("datadir", "./relaydb-data", "a `relaydb up` cluster's directory, used when --cluster-addr is not given")
	to := fs.String("to", "", "the member to promote (default: the most caught-up replica, then the highest priority; never a never-promote member)")
	mode := fs.String("mode", "reliability", "reliability: hold the primary's commits until the target has everything it logged, losing nothing acknowledged; "+
		"availability: switch at once, the target lacking what it had not received (reported; rewound on the old primary)")
	maxLag := fs.Duration("max-lag", 0, "refuse a reliability-first switchover when the target lags more than this (default: the cluster's setting, 5s)")
	timeout := fs.Duration("timeout", 0, "abort a phase of the switchover that takes longer (default: the cluster's setting, 5s)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: relaydb switchover [--to NODE] [--mode reliability|availability] [--max-lag D] [--cluster-addr HOST:PORT | --datadir DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	m := cluster.SwitchoverMode(strings.ToLower(*mode))
	if m != cluster.Reliability && m != cluster.Availability {
		fmt.Fprintf(stderr, "relaydb switchover: --mode %q: want reliability or availability\n", *mode)
		return 2
	}
	addrs, err := memberAddrs(*addr, *dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb switchover: %v\n", err)
		return 2
	}
	req := cluster.SwitchoverRequest{To: *to, Mode: m, MaxLag: *maxLag, Timeout: *timeout, Reason: "relaydb switchover"}
	body, _ := json.Marshal(req)
	wait := *timeout
	if wait <= 0 {
		wait = cluster.DefaultSwitchoverTimeout
	}
	client := &http.Client{Timeout: 2*wait + 10*time.Second}
	var lastErr error
	for _, a := range addrs {
		resp, err := client.Post("http://"+a+"/v1/switchover", "application/json", bytes.NewReader(body))
		if err != nil {
			lastErr = err
			continue
		}
		var ans struct {
			Result  *cluster.SwitchoverResult `json:"result"`
			Error   string                    `json:"error"`
			Refused bool                      `json:"refused"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil {
			lastErr = fmt.Errorf("%s: %s: %v", a, resp.Status, err)
			continue
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(ans)
		}
		if ans.Error != "" {
			if !*asJSON {
				fmt.Fprintf(stderr, "relaydb switchover: %s\n", ans.Error)
			}
			return 1
		}
		if !*asJSON && ans.Result != nil {
			printSwitchover(stdout, *ans.Result)
		}
		return 0
	}
	fmt.Fprintf(stderr, "relaydb switchover: no member answered: %v\n", lastErr)
	return 1
}

func printSwitchover(w io.Writer, r cluster.SwitchoverResult) {
	fmt.Fprintf(w, "switchover %s done (%s-first) in %s: %s is the primary (epoch %d); %s follows it\n",
		r.ID, r.Mode, r.Ended.Sub(r.Started).Round(time.Millisecond), r.To, r.Epoch, r.From)
	fmt.Fprintf(w, "old primary's gtid_executed when it fenced itself: %s\n", orNone(r.Executed))
	if r.Mode == cluster.Availability {
		if r.Lacked == "" {
			fmt.Fprintln(w, "the new primary lacked none of them")
		} else {
			fmt.Fprintf(w, "the new primary lacked: %s\n(errant on %s: rewound into its lost-and-found when it rejoins)\n", r.Lacked, r.From)
		}
	}
}

// memberAddrs is --cluster-addr, or the members of the `relaydb up` cluster in dataDir.
func memberAddrs(addr, dataDir string) ([]string, error) {
	if addr != "" {
		return []string{addr}, nil
	}
	cl, err := readClusterFile(filepath.Join(dataDir, clusterFileName))
	if err != nil {
		return nil, fmt.Errorf("no --cluster-addr, and %v", err)
	}
	var addrs []string
	for k := 1; k <= cl.Nodes; k++ {
		addrs = append(addrs, clusterAddrOf(cl.Port, k))
	}
	if cl.Arbiter {
		addrs = append(addrs, clusterAddrOf(cl.Port, cl.Nodes+1))
	}
	return addrs, nil
}

// tuning reads `relaydb status --set NAME=VALUE` (min-free-disk, switchover-max-lag,
// switchover-timeout, priority-trigger).
func tuning(sets []string) (*cluster.Tuning, error) {
	t := &cluster.Tuning{}
	for _, kv := range sets {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want NAME=VALUE", kv)
		}
		switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-") {
		case "min-free-disk":
			z, err := config.ParseSize(val)
			if err != nil {
				return nil, fmt.Errorf("--set %s: %v", name, err)
			}
			v := uint64(z)
			t.MinFreeDisk = &v
		case "switchover-max-lag", "switchover-timeout":
			d, err := time.ParseDuration(strings.TrimSpace(val))
			if err != nil || d < 0 {
				return nil, fmt.Errorf("--set %s: want a duration such as 2s", name)
			}
			if strings.HasSuffix(strings.ToLower(name), "lag") {
				t.SwitchoverMaxLag = &d
			} else {
				t.SwitchoverTimeout = &d
			}
		case "priority-trigger":
			var on bool
			switch strings.ToLower(strings.TrimSpace(val)) {
			case "on", "1", "true", "yes":
				on = true
			case "off", "0", "false", "no":
			default:
				return nil, fmt.Errorf("--set %s: want on or off", name)
			}
			t.PriorityTrigger = &on
		default:
			return nil, fmt.Errorf("--set %q: unknown setting (min-free-disk, switchover-max-lag, switchover-timeout, priority-trigger)", name)
		}
	}
	return t, nil
}
