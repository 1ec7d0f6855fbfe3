package server

import (
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/replica"
)

// replicationProcessList adds the replication threads (receiver and applier) to SHOW
// PROCESSLIST, as MySQL lists them: user "system user", command "Connect", and their state.
type replicationProcessList struct {
	sql.ProcessList
	replicas *replica.Channels
}

func (p *replicationProcessList) Processes() []sql.Process {
	procs := p.ProcessList.Processes()
	for _, t := range p.replicas.Threads() {
		procs = append(procs, sql.Process{
			Connection: t.ID, User: "system user", Command: sql.ProcessCommandConnect,
			StartedAt: t.Started, Query: t.State,
		})
	}
	return procs
}
