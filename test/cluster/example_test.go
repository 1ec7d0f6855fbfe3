package cluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/relaydb/relaydb/test/cluster"
)

// How a failover test puts the pieces together (compiled, not run: it needs the relaydb
// binary and the control plane's flags).
func Example() {
	s := cluster.NewScope(nil) // in a test, pass t instead
	defer s.Close()
	bin, err := cluster.BuildRelayDB(s.TempDir(), false)
	if err != nil {
		panic(err)
	}
	names := []string{"n1", "n2", "n3"}
	ports, _ := cluster.FreePorts(len(names))
	addr := map[string]string{}
	for i, n := range names {
		addr[n] = fmt.Sprintf("127.0.0.1:%d", ports[i])
	}
	nw := cluster.NewNet(s)
	for _, from := range names {
		for _, to := range names {
			if from != to {
				nw.Link(from, to, addr[to])
			}
		}
	}
	var procs []*cluster.Process
	for i, n := range names {
		p, err := cluster.StartProcess(s, cluster.ProcessConfig{Name: n, Path: bin, ReadyLine: cluster.ReadyServer,
			Args: []string{"server", "--port", fmt.Sprint(ports[i]), "--dial-override", nw.DialOverride(n)}})
		if err != nil {
			panic(err)
		}
		procs = append(procs, p)
	}
	rec := cluster.NewRecorder()
	nem := cluster.NewNemesis(s, rec, []cluster.Fault{
		cluster.KillFault(procs...),
		cluster.PauseFault(procs...),
		cluster.IsolateFault(nw, names...),
		cluster.PartitionFault(nw, names...),
	}, cluster.NemesisOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go nem.Run(ctx)
	// … clients: call := rec.Invoke(client, cluster.FWrite, cluster.RegisterOp{Key: "k", Value: 1}, "n1");
	// then call.OK(nil), call.Fail(err) when the write certainly did not happen, call.Info(err)
	// when it may have.
	<-ctx.Done()
	for _, v := range cluster.CheckRegisters(rec.History(), cluster.RegisterOptions{VisualizeDir: s.TempDir()}) {
		fmt.Println(v)
	}
}
