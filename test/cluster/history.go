package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// OpType is the kind of a history entry, as in Jepsen.
type OpType string

const (
	// Invoke: a client is about to send the operation.
	Invoke OpType = "invoke"
	// OK: the operation took effect and its output is known.
	OK OpType = "ok"
	// Fail: the operation certainly did not take effect (rejected before any change, rolled
	// back with a known outcome).
	Fail OpType = "fail"
	// Info: the outcome is unknown (timeout, connection lost after sending the commit); the
	// operation may take effect at any time up to the end of the history. Nemesis entries are
	// Info too.
	Info OpType = "info"
)

// NemesisProcess is the process id of nemesis entries; checkers ignore entries with negative
// process ids.
const NemesisProcess = -1

// Op is one history entry. An invocation and its completion share Process and F; Value is the
// input on the invocation and the output on the completion.
type Op struct {
	Index   int       `json:"index"`
	Type    OpType    `json:"type"`
	Process int       `json:"process"`
	F       string    `json:"f"`
	Value   any       `json:"value,omitempty"`
	Node    string    `json:"node,omitempty"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
	// Mono is nanoseconds since the recorder started, from the monotonic clock: it orders
	// entries even when the wall clock steps.
	Mono int64 `json:"mono"`
}

// Recorder collects a history. It is safe for concurrent use; each client process must have at
// most one operation outstanding, as in Jepsen (a client whose operation ended as Info must
// take a new process id).
type Recorder struct {
	start time.Time

	mu  sync.Mutex
	ops []Op // guarded by mu
}

// NewRecorder starts an empty history.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

func (r *Recorder) add(op Op) Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	op.Time = now
	op.Mono = int64(now.Sub(r.start))
	op.Index = len(r.ops)
	r.ops = append(r.ops, op)
	return op
}

// Invoke records that process is about to run f with input on node, and returns the handle
// that records its completion.
func (r *Recorder) Invoke(process int, f string, input any, node string) *Call {
	r.add(Op{Type: Invoke, Process: process, F: f, Value: input, Node: node})
	return &Call{r: r, process: process, f: f, node: node}
}

// Nemesis records a nemesis event (what = "start" or "end" and a description).
func (r *Recorder) Nemesis(fault, what string) {
	r.add(Op{Type: Info, Process: NemesisProcess, F: fault, Value: what})
}

// History returns a copy of the entries so far, in order.
func (r *Recorder) History() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// WriteJSONL writes the history to path, one JSON object a line.
func (r *Recorder) WriteJSONL(path string) error { return WriteJSONL(path, r.History()) }

// WriteJSONL writes ops to path, one JSON object a line.
func WriteJSONL(path string, ops []Op) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, op := range ops {
		if err := enc.Encode(op); err != nil {
			f.Close()
			return fmt.Errorf("write history %s: %w", path, err)
		}
	}
	return f.Close()
}

// Call is an invoked operation waiting for its completion. Exactly one of OK, Fail and Info
// must be called; later calls are ignored.
type Call struct {
	r       *Recorder
	process int
	f       string
	node    string
	once    sync.Once
}

func (c *Call) complete(t OpType, out any, err error) {
	c.once.Do(func() {
		op := Op{Type: t, Process: c.process, F: c.f, Value: out, Node: c.node}
		if err != nil {
			op.Error = err.Error()
		}
		c.r.add(op)
	})
}

// OK records that the operation took effect with output out.
func (c *Call) OK(out any) { c.complete(OK, out, nil) }

// Fail records that the operation certainly did not take effect.
func (c *Call) Fail(err error) { c.complete(Fail, nil, err) }

// Info records that the outcome is unknown.
func (c *Call) Info(err error) { c.complete(Info, nil, err) }

// Operation is an invocation paired with its completion.
type Operation struct {
	Process int
	F       string
	Input   any
	Output  any
	Node    string
	Type    OpType // OK, Fail or Info (Info also for an invocation never completed)
	Error   string
	// Call and Return are monotonic nanoseconds; Return is -1 when the outcome is unknown.
	Call, Return int64
	// CallIndex and ReturnIndex are the entries' indexes in the history (ReturnIndex -1 when
	// never completed).
	CallIndex, ReturnIndex int
}

func (o Operation) String() string {
	s := fmt.Sprintf("[p%d %s %v", o.Process, o.F, o.Input)
	switch o.Type {
	case OK:
		s += fmt.Sprintf(" -> ok %v", o.Output)
	case Fail:
		s += " -> fail"
	case Info:
		s += " -> unknown"
	}
	if o.Node != "" {
		s += " on " + o.Node
	}
	ret := "∞"
	if o.Return >= 0 {
		ret = fmt.Sprintf("%.3fs", float64(o.Return)/1e9)
	}
	return s + fmt.Sprintf(" at %.3fs..%s (#%d)]", float64(o.Call)/1e9, ret, o.CallIndex)
}

// Pair matches every client invocation with its completion (nemesis entries are skipped). An
// invocation without a completion is an Info operation. It returns an error for a completion
// without an invocation or a second invocation while one is outstanding on a process.
func Pair(history []Op) ([]Operation, error) {
	open := map[int]int{} // process → index in out
	var out []Operation
	for _, op := range history {
		if op.Process < 0 {
			continue
		}
		switch op.Type {
		case Invoke:
			if i, ok := open[op.Process]; ok {
				return nil, fmt.Errorf("history #%d: process %d invokes %s while %s (#%d) is outstanding", op.Index, op.Process, op.F, out[i].F, out[i].CallIndex)
			}
			open[op.Process] = len(out)
			out = append(out, Operation{Process: op.Process, F: op.F, Input: op.Value, Node: op.Node,
				Type: Info, Call: op.Mono, Return: -1, CallIndex: op.Index, ReturnIndex: -1})
		case OK, Fail, Info:
			i, ok := open[op.Process]
			if !ok {
				return nil, fmt.Errorf("history #%d: %s completion of %s by process %d, which has nothing outstanding", op.Index, op.Type, op.F, op.Process)
			}
			delete(open, op.Process)
			o := &out[i]
			o.Type, o.Error, o.ReturnIndex = op.Type, op.Error, op.Index
			if op.Type != Info {
				o.Output, o.Return = op.Value, op.Mono
			}
		default:
			return nil, fmt.Errorf("history #%d: unknown type %q", op.Index, op.Type)
		}
	}
	return out, nil
}

// Violation is one broken invariant found by a checker.
type Violation struct {
	Checker string
	Message string
	Ops     []Operation // the operations involved, when there are some
	// Inconclusive marks a check that could not finish (a linearizability search that timed
	// out); it is not proof of a bug.
	Inconclusive bool
}

func (v Violation) String() string {
	s := v.Checker + ": " + v.Message
	for _, o := range v.Ops {
		s += "\n    " + o.String()
	}
	return s
}
