package clone

import (
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// PerformanceSchema is a read-only database named performance_schema holding MySQL's
// clone_status and clone_progress tables, read from a Tracker.
type PerformanceSchema struct{ t *Tracker }

// NewPerformanceSchema returns the database over t.
func NewPerformanceSchema(t *Tracker) *PerformanceSchema { return &PerformanceSchema{t: t} }

// PerformanceSchemaName is the database's name.
const PerformanceSchemaName = "performance_schema"

var _ sql.Database = (*PerformanceSchema)(nil)

func (d *PerformanceSchema) Name() string { return PerformanceSchemaName }

func (d *PerformanceSchema) GetTableInsensitive(_ *sql.Context, name string) (sql.Table, bool, error) {
	switch strings.ToLower(name) {
	case "clone_status":
		return &statusTable{t: d.t, name: "clone_status", schema: statusSchema, rows: statusRows}, true, nil
	case "clone_progress":
		return &statusTable{t: d.t, name: "clone_progress", schema: progressSchema, rows: progressRows}, true, nil
	}
	return nil, false, nil
}

func (d *PerformanceSchema) GetTableNames(*sql.Context) ([]string, error) {
	return []string{"clone_progress", "clone_status"}, nil
}

var timestamp3 = types.MustCreateDatetimeType(sqltypes.Timestamp, 3)

func col(table, name string, t sql.Type) *sql.Column {
	return &sql.Column{Name: name, Type: t, Source: table, DatabaseSource: PerformanceSchemaName, Nullable: true}
}

var statusSchema = sql.Schema{
	col("clone_status", "ID", types.Int32),
	col("clone_status", "PID", types.Int32),
	col("clone_status", "STATE", types.LongText),
	col("clone_status", "BEGIN_TIME", timestamp3),
	col("clone_status", "END_TIME", timestamp3),
	col("clone_status", "SOURCE", types.LongText),
	col("clone_status", "DESTINATION", types.LongText),
	col("clone_status", "ERROR_NO", types.Int32),
	col("clone_status", "ERROR_MESSAGE", types.LongText),
	col("clone_status", "BINLOG_FILE", types.LongText),
	col("clone_status", "BINLOG_POSITION", types.Int64),
	col("clone_status", "GTID_EXECUTED", types.LongText),
}

var progressSchema = sql.Schema{
	col("clone_progress", "ID", types.Int32),
	col("clone_progress", "STAGE", types.LongText),
	col("clone_progress", "STATE", types.LongText),
	col("clone_progress", "BEGIN_TIME", timestamp3),
	col("clone_progress", "END_TIME", timestamp3),
	col("clone_progress", "THREADS", types.Int32),
	col("clone_progress", "ESTIMATE", types.Int64),
	col("clone_progress", "DATA", types.Int64),
	col("clone_progress", "NETWORK", types.Int64),
	col("clone_progress", "DATA_SPEED", types.Int32),
	col("clone_progress", "NETWORK_SPEED", types.Int32),
}

func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// statusRows is clone_status: one row for the latest clone (none before the first).
func statusRows(st Status) []sql.Row {
	if st.ID == 0 {
		return nil
	}
	return []sql.Row{{int32(st.ID), int32(st.PID), st.State, tm(st.Begin), tm(st.End), st.Source, st.Destination,
		int32(st.ErrorNo), st.ErrorMessage, st.BinlogFile, int64(st.BinlogPos), st.GTIDExecuted}}
}

// progressRows is clone_progress: one row per stage; speeds are bytes/s (MySQL's DATA_SPEED),
// over the stage so far.
func progressRows(st Status) []sql.Row {
	if st.ID == 0 {
		return nil
	}
	var rows []sql.Row
	for _, s := range st.Stages {
		var speed, netSpeed int32
		if !s.Begin.IsZero() {
			end := s.End
			if end.IsZero() {
				end = time.Now()
			}
			if secs := end.Sub(s.Begin).Seconds(); secs > 0 {
				speed, netSpeed = clampInt32(float64(s.Data)/secs), clampInt32(float64(s.Network)/secs)
			}
		}
		rows = append(rows, sql.Row{int32(st.ID), s.Name, s.State, tm(s.Begin), tm(s.End), int32(1),
			s.Estimate, s.Data, s.Network, speed, netSpeed})
	}
	return rows
}

func clampInt32(f float64) int32 {
	if f > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(f)
}

type statusTable struct {
	t      *Tracker
	name   string
	schema sql.Schema
	rows   func(Status) []sql.Row
}

func (s *statusTable) Name() string                   { return s.name }
func (s *statusTable) String() string                 { return fmt.Sprintf("%s.%s", PerformanceSchemaName, s.name) }
func (s *statusTable) Schema(*sql.Context) sql.Schema { return s.schema }
func (s *statusTable) Collation() sql.CollationID     { return sql.Collation_Default }

func (s *statusTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(partition{}), nil
}

func (s *statusTable) PartitionRows(*sql.Context, sql.Partition) (sql.RowIter, error) {
	return sql.RowsToRowIter(s.rows(s.t.Snapshot())...), nil
}

type partition struct{}

func (partition) Key() []byte { return []byte("all") }

// performance_schema has no views, but GMS asks every database for them.
var _ sql.ViewDatabase = (*PerformanceSchema)(nil)

func (d *PerformanceSchema) CreateView(*sql.Context, string, string, string) error {
	return sql.ErrDatabaseWriteLocked.New()
}

func (d *PerformanceSchema) DropView(_ *sql.Context, name string) error {
	return sql.ErrViewDoesNotExist.New(PerformanceSchemaName, name)
}

func (d *PerformanceSchema) GetViewDefinition(*sql.Context, string) (sql.ViewDefinition, bool, error) {
	return sql.ViewDefinition{}, false, nil
}

func (d *PerformanceSchema) AllViews(*sql.Context) ([]sql.ViewDefinition, error) { return nil, nil }

// performance_schema holds no triggers or routines, and none can be created in it; it still
// answers the calls that go-mysql-server makes on every database for information_schema and
// SHOW (without them, information_schema.TRIGGERS failed for every database).
var (
	_ sql.TriggerDatabase         = (*PerformanceSchema)(nil)
	_ sql.StoredProcedureDatabase = (*PerformanceSchema)(nil)
)

func (d *PerformanceSchema) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) {
	return nil, nil
}

func (d *PerformanceSchema) CreateTrigger(*sql.Context, sql.TriggerDefinition) error {
	return errReadOnlySchema()
}

func (d *PerformanceSchema) DropTrigger(_ *sql.Context, name string) error {
	return sql.ErrTriggerDoesNotExist.New(name)
}

func (d *PerformanceSchema) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

func (d *PerformanceSchema) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

func (d *PerformanceSchema) SaveStoredProcedure(*sql.Context, sql.StoredProcedureDetails) error {
	return errReadOnlySchema()
}

func (d *PerformanceSchema) DropStoredProcedure(_ *sql.Context, name string) error {
	return sql.ErrStoredProcedureDoesNotExist.New(name)
}

// errReadOnlySchema is MySQL's answer to creating an object in performance_schema.
func errReadOnlySchema() error {
	return mysql.NewSQLError(mysql.ERDBAccessDenied, "42000", "Access denied for user to database '%s'", PerformanceSchemaName)
}
