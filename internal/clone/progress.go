package clone

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// Clone states, as performance_schema.clone_status and clone_progress print them.
const (
	StateNotStarted = "Not Started"
	StateInProgress = "In Progress"
	StateCompleted  = "Completed"
	StateFailed     = "Failed"
)

// Stages of a clone, in order (MySQL's clone_progress has one row per stage).
const (
	StageCheckpoint = "CHECKPOINT" // the donor copies its store and checksums the files
	StageFileCopy   = "FILE COPY"  // files are streamed and each is verified
	StageFileSync   = "FILE SYNC"  // staged files made durable, the clone marked complete
	StageRestart    = "RESTART"    // the node stops to install the clone (replacing its data)
	StageRecovery   = "RECOVERY"   // the staged clone is installed at start (old data set aside)
)

// Stages lists every stage in order.
var Stages = []string{StageCheckpoint, StageFileCopy, StageFileSync, StageRestart, StageRecovery}

// Status is one clone's status and progress (performance_schema.clone_status and
// clone_progress). Times are zero when not reached.
type Status struct {
	ID           int       `json:"id"`
	PID          int       `json:"pid"`
	State        string    `json:"state"`
	Begin        time.Time `json:"begin"`
	End          time.Time `json:"end"`
	Source       string    `json:"source"`
	Destination  string    `json:"destination"`
	ErrorNo      int       `json:"error_no"`
	ErrorMessage string    `json:"error_message"`
	BinlogFile   string    `json:"binlog_file"`
	BinlogPos    uint64    `json:"binlog_position"`
	GTIDExecuted string    `json:"gtid_executed"`
	Stages       []Stage   `json:"stages"`
	// Resumed is the bytes of files an interrupted attempt had already staged and verified.
	Resumed int64 `json:"resumed"`
}

// Stage is one row of clone_progress.
type Stage struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Begin    time.Time `json:"begin"`
	End      time.Time `json:"end"`
	Estimate int64     `json:"estimate"` // bytes
	Data     int64     `json:"data"`     // bytes done
	Network  int64     `json:"network"`  // bytes received from the donor
}

// Tracker holds the status of the latest clone of a node, and persists it (when Path is set)
// at every stage change so that it survives the restart that installs the clone, as MySQL's
// clone status does. Safe for concurrent use.
type Tracker struct {
	mu   sync.Mutex
	path string
	st   Status
	busy bool
}

// NewTracker returns a tracker persisting to path ("" for none), loaded from it if present.
func NewTracker(path string) *Tracker {
	t := &Tracker{path: path}
	if path != "" {
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &t.st)
		}
	}
	return t
}

// Snapshot returns a copy of the current status (ID 0: no clone ever ran).
func (t *Tracker) Snapshot() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	st.Stages = append([]Stage(nil), t.st.Stages...)
	return st
}

// ErrBusy is returned by Start while a clone is running.
var ErrBusy = errors.New("clone: a clone is already in progress")

// Start begins a new clone's status; ErrBusy if one is running in this process.
func (t *Tracker) Start(source, destination string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy {
		return ErrBusy
	}
	t.busy = true
	now := time.Now()
	t.st = Status{ID: t.st.ID + 1, PID: os.Getpid(), State: StateInProgress, Begin: now, Source: source, Destination: destination}
	for _, s := range Stages {
		t.st.Stages = append(t.st.Stages, Stage{Name: s, State: StateNotStarted})
	}
	t.saveLocked()
	return nil
}

func (t *Tracker) stage(name string) *Stage {
	for i := range t.st.Stages {
		if t.st.Stages[i].Name == name {
			return &t.st.Stages[i]
		}
	}
	return nil
}

// BeginStage marks a stage in progress with an estimate in bytes, ending the one before.
func (t *Tracker) BeginStage(name string, estimate int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for i := range t.st.Stages {
		s := &t.st.Stages[i]
		if s.Name == name {
			break
		}
		if s.State == StateInProgress {
			s.State, s.End = StateCompleted, now
		}
	}
	if s := t.stage(name); s != nil {
		s.State, s.Begin, s.End, s.Estimate, s.Data, s.Network = StateInProgress, now, time.Time{}, estimate, 0, 0
	}
	t.saveLocked()
}

// Add counts n bytes done in a stage (network: received from the donor too).
func (t *Tracker) Add(name string, n int64, network bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.stage(name); s != nil {
		s.Data += n
		if network {
			s.Network += n
		}
	}
}

// SetSource records what the clone is of.
func (t *Tracker) SetSource(m *Manifest, resumed int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.GTIDExecuted, t.st.BinlogFile, t.st.BinlogPos, t.st.Resumed = m.GTIDExecuted, m.BinlogFile, m.BinlogPos, resumed
	t.saveLocked()
}

// EndStage completes a stage.
func (t *Tracker) EndStage(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.stage(name); s != nil && s.State == StateInProgress {
		s.State, s.End = StateCompleted, time.Now()
	}
	t.saveLocked()
}

// Finish ends the clone: err nil is success. code is the MySQL error number reported.
func (t *Tracker) Finish(code int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.busy = false
	t.st.End = now
	if err == nil {
		t.st.State = StateCompleted
	} else {
		msg := err.Error()
		var se *mysql.SQLError
		if errors.As(err, &se) {
			msg = se.Message
		}
		t.st.State, t.st.ErrorNo, t.st.ErrorMessage = StateFailed, code, msg
	}
	for i := range t.st.Stages {
		s := &t.st.Stages[i]
		if s.State == StateInProgress {
			s.End = now
			s.State = StateCompleted
			if err != nil {
				s.State = StateFailed
			}
		}
	}
	t.saveLocked()
}

// Resume reopens a clone whose RESTART stage ended with the node stopping: at the next start
// the RECOVERY stage installs it (Installed then finishes it).
func (t *Tracker) Resume() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy || t.st.ID == 0 {
		return false
	}
	t.busy = true
	t.st.State, t.st.End = StateInProgress, time.Time{}
	return true
}

func (t *Tracker) saveLocked() {
	if t.path == "" {
		return
	}
	b, err := json.MarshalIndent(&t.st, "", "  ")
	if err == nil {
		err = fsutil.WriteFileAtomic(t.path, b, 0o600)
	}
	if err != nil {
		// The status is informative; a clone never fails for it.
		slog.Default().Warn("clone: cannot save the clone status", "file", t.path, "err", err)
	}
}
