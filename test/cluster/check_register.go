package cluster

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Register operation names (Op.F) for CheckRegisters.
const (
	FRead  = "read"
	FWrite = "write"
	FCAS   = "cas"
)

// RegisterOp is the input of a register operation: Key for every one, Value for a write, Old
// and New for a compare-and-set. The output of an OK read is *int64 (nil: no value), of an OK
// cas a bool (whether it applied); a write's output is ignored.
type RegisterOp struct {
	Key   string `json:"key"`
	Value int64  `json:"value,omitempty"`
	Old   int64  `json:"old,omitempty"`
	New   int64  `json:"new,omitempty"`
}

// RegisterOptions configures CheckRegisters.
type RegisterOptions struct {
	// Timeout bounds the search per key (default 30s); a key not decided in time yields an
	// Inconclusive violation.
	Timeout time.Duration
	// VisualizeDir, when set, receives porcupine's HTML visualization of each key found not
	// linearizable, as register-<key>.html.
	VisualizeDir string
}

// regState is the register's value; comparable with ==, as porcupine's default Equal needs.
type regState struct {
	set bool
	v   int64
}

func (s regState) String() string {
	if !s.set {
		return "nil"
	}
	return fmt.Sprint(s.v)
}

// regInput is what the model sees: the op and whether its outcome is known.
type regInput struct {
	f     string
	op    RegisterOp
	known bool
}

// regOutput is a known outcome.
type regOutput struct {
	read  regState
	casOK bool
}

var registerModel = porcupine.Model{
	Init: func() any { return regState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(regState), input.(regInput)
		switch in.f {
		case FRead:
			return output.(regOutput).read == s, s
		case FWrite:
			return true, regState{true, in.op.Value}
		case FCAS:
			match := s.set && s.v == in.op.Old
			if !in.known {
				// Unknown outcome: it applied if the value matched when it took effect (an
				// operation that never took effect linearizes at the end, where it changes
				// nothing anyone saw).
				if match {
					return true, regState{true, in.op.New}
				}
				return true, s
			}
			if output.(regOutput).casOK {
				return match, regState{true, in.op.New}
			}
			return !match, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		var s string
		switch in.f {
		case FRead:
			s = "read()"
		case FWrite:
			s = fmt.Sprintf("write(%d)", in.op.Value)
		case FCAS:
			s = fmt.Sprintf("cas(%d, %d)", in.op.Old, in.op.New)
		}
		if !in.known {
			return s + " -> ?"
		}
		switch in.f {
		case FRead:
			return s + " -> " + output.(regOutput).read.String()
		case FCAS:
			return fmt.Sprintf("%s -> %v", s, output.(regOutput).casOK)
		}
		return s
	},
	DescribeState: func(state any) string { return state.(regState).String() },
}

// CheckRegisters checks that the read, write and cas operations of the history, on registers
// named by RegisterOp.Key, are linearizable: every key on its own (a partitioned model).
// Failed operations are left out (they did not happen); operations with unknown outcome stay
// open until the end of the history; reads with unknown outcome tell nothing and are left out.
func CheckRegisters(history []Op, opts RegisterOptions) []Violation {
	const name = "linearizable registers"
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	ops, err := Pair(history)
	if err != nil {
		return []Violation{{Checker: name, Message: err.Error()}}
	}
	var viol []Violation
	byKey := map[string][]porcupine.Operation{}
	src := map[string][]Operation{}
	for _, o := range ops {
		if o.F != FRead && o.F != FWrite && o.F != FCAS {
			continue
		}
		if o.Type == Fail || (o.Type == Info && o.F == FRead) {
			continue
		}
		in, ok := o.Input.(RegisterOp)
		if !ok {
			viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("input is %T, want RegisterOp", o.Input), Ops: []Operation{o}})
			continue
		}
		pin := regInput{f: o.F, op: in, known: o.Type == OK}
		var out regOutput
		ret := o.Return
		if o.Type == Info {
			ret = math.MaxInt64
		} else {
			switch o.F {
			case FRead:
				v, ok := o.Output.(*int64)
				if !ok && o.Output != nil {
					viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("read output is %T, want *int64", o.Output), Ops: []Operation{o}})
					continue
				}
				if v != nil {
					out.read = regState{true, *v}
				}
			case FCAS:
				b, ok := o.Output.(bool)
				if !ok {
					viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("cas output is %T, want bool", o.Output), Ops: []Operation{o}})
					continue
				}
				out.casOK = b
			}
		}
		byKey[in.Key] = append(byKey[in.Key], porcupine.Operation{ClientId: o.Process, Input: pin, Output: out, Call: o.Call, Return: ret})
		src[in.Key] = append(src[in.Key], o)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		res, info := porcupine.CheckOperationsVerbose(registerModel, byKey[k], opts.Timeout)
		switch res {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			viol = append(viol, Violation{Checker: name, Inconclusive: true,
				Message: fmt.Sprintf("key %q: no linearization found within %s (%d operations); inconclusive", k, opts.Timeout, len(byKey[k]))})
			continue
		}
		msg := fmt.Sprintf("key %q: not linearizable (%d operations)", k, len(byKey[k]))
		if longest := longestPartial(info); longest != "" {
			msg += "; the longest legal prefix: " + longest
		}
		if opts.VisualizeDir != "" {
			p := filepath.Join(opts.VisualizeDir, "register-"+sanitize(k)+".html")
			if err := porcupine.VisualizePath(registerModel, info, p); err != nil {
				msg += fmt.Sprintf("; visualization failed: %v", err)
			} else {
				msg += "; visualization " + p
			}
		}
		viol = append(viol, Violation{Checker: name, Message: msg, Ops: src[k]})
	}
	return viol
}

// longestPartial describes the longest partial linearization porcupine found: the operations
// after it include one that no order can explain.
func longestPartial(info porcupine.LinearizationInfo) string {
	var best []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, lin := range part {
			if len(lin) > len(best) {
				best = lin
			}
		}
	}
	var parts []string
	for _, o := range best {
		parts = append(parts, registerModel.DescribeOperation(o.Input, o.Output))
	}
	return strings.Join(parts, ", ")
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
