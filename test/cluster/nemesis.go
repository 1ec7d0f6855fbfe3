package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"time"
)

// Fault is one kind of failure the nemesis can inject.
type Fault struct {
	Name string
	// Inject starts the fault and returns what it did ("kill n2", for the history) and the
	// function that ends it (nil when it ends by itself). rnd is the nemesis's seeded source:
	// a fault that picks a victim draws it from rnd, so the run replays from the seed.
	Inject func(rnd *rand.Rand) (what string, heal func() error, err error)
}

// NemesisOptions says how often faults come and how long they last; each duration is drawn
// uniformly from [Min, Max].
type NemesisOptions struct {
	// Seed of the schedule; 0 picks one from the clock. The seed is logged either way: set it
	// to replay a failing run's choice of faults, victims and timings.
	Seed int64
	// MinFault, MaxFault: how long a fault lasts (default 1s..3s).
	MinFault, MaxFault time.Duration
	// MinQuiet, MaxQuiet: the calm between the end of one fault and the start of the next
	// (default 1s..3s).
	MinQuiet, MaxQuiet time.Duration
}

// Step is one scheduled fault: wait Quiet, inject Fault, heal it after Duration.
type Step struct {
	Fault    int // index into the nemesis's faults
	Name     string
	Quiet    time.Duration
	Duration time.Duration
}

// Nemesis injects faults one at a time on a schedule drawn from a seeded random source, and
// records each fault's start and end in a history.
//
// Reproducibility: the schedule, and every choice a fault draws from the source it is given,
// is a function of the seed and the fault list alone. Wall-clock timing still varies between
// runs, so the system's behaviour under the same schedule may differ.
type Nemesis struct {
	tb     TB
	rec    *Recorder
	faults []Fault
	opts   NemesisOptions
	rnd    *rand.Rand // used only by the goroutine running Run
}

// NewNemesis returns a nemesis over faults recording into rec (which may be nil).
func NewNemesis(tb TB, rec *Recorder, faults []Fault, opts NemesisOptions) *Nemesis {
	if opts.Seed == 0 {
		opts.Seed = time.Now().UnixNano()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.MinFault, time.Second)
	def(&opts.MaxFault, 3*time.Second)
	def(&opts.MinQuiet, time.Second)
	def(&opts.MaxQuiet, 3*time.Second)
	tb.Logf("cluster: nemesis seed %d (NemesisOptions.Seed = %d replays it)", opts.Seed, opts.Seed)
	return &Nemesis{tb: tb, rec: rec, faults: faults, opts: opts, rnd: rand.New(rand.NewSource(opts.Seed))}
}

// Seed is the schedule's seed.
func (n *Nemesis) Seed() int64 { return n.opts.Seed }

// Next draws the next step of the schedule.
func (n *Nemesis) Next() Step {
	i := n.rnd.Intn(len(n.faults))
	return Step{
		Fault:    i,
		Name:     n.faults[i].Name,
		Quiet:    between(n.rnd, n.opts.MinQuiet, n.opts.MaxQuiet),
		Duration: between(n.rnd, n.opts.MinFault, n.opts.MaxFault),
	}
}

func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int63n(int64(hi-lo)+1))
}

// Run injects faults until ctx ends, then heals the one in force and returns. An error from a
// fault's Inject or heal ends the run with that error (after healing what it can).
func (n *Nemesis) Run(ctx context.Context) error {
	if len(n.faults) == 0 {
		return errors.New("nemesis: no faults")
	}
	for {
		st := n.Next()
		if !sleepCtx(ctx, st.Quiet) {
			return nil
		}
		f := n.faults[st.Fault]
		what, heal, err := f.Inject(n.rnd)
		if err != nil {
			n.record(f.Name, "start failed: "+err.Error())
			return fmt.Errorf("nemesis (seed %d): inject %s: %w", n.opts.Seed, f.Name, err)
		}
		n.record(f.Name, fmt.Sprintf("start %s (for %s)", what, st.Duration))
		sleepCtx(ctx, st.Duration)
		if heal != nil {
			if err := heal(); err != nil {
				n.record(f.Name, "end failed: "+err.Error())
				return fmt.Errorf("nemesis (seed %d): heal %s: %w", n.opts.Seed, f.Name, err)
			}
		}
		n.record(f.Name, "end "+what)
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (n *Nemesis) record(fault, what string) {
	n.tb.Logf("cluster: nemesis %s: %s", fault, what)
	if n.rec != nil {
		n.rec.Nemesis(fault, what)
	}
}

// sleepCtx sleeps d or until ctx ends; it reports whether the whole d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// NetFault wraps a network fault method (a partial application of Cut, Isolate, …) as a Fault.
func NetFault(name string, start func() (heal func())) Fault {
	return Fault{Name: name, Inject: func(*rand.Rand) (string, func() error, error) {
		h := start()
		return name, func() error { h(); return nil }, nil
	}}
}

// KillFault kills (SIGKILL) one of procs, drawn from the nemesis's source, and restarts it when
// the fault ends.
func KillFault(procs ...*Process) Fault {
	return Fault{Name: "kill", Inject: func(rnd *rand.Rand) (string, func() error, error) {
		p := procs[rnd.Intn(len(procs))]
		if err := p.Kill(); err != nil {
			return "", nil, err
		}
		return "kill " + p.Name(), p.Restart, nil
	}}
}

// PauseFault freezes (SIGSTOP) one of procs and resumes it when the fault ends.
func PauseFault(procs ...*Process) Fault {
	return Fault{Name: "pause", Inject: func(rnd *rand.Rand) (string, func() error, error) {
		p := procs[rnd.Intn(len(procs))]
		if err := p.Stop(); err != nil {
			return "", nil, err
		}
		return "pause " + p.Name(), p.Cont, nil
	}}
}

// IsolateFault cuts one of nodes from every other node.
func IsolateFault(n *Net, nodes ...string) Fault {
	return Fault{Name: "isolate", Inject: func(rnd *rand.Rand) (string, func() error, error) {
		v := nodes[rnd.Intn(len(nodes))]
		heal := n.Isolate(v)
		return "isolate " + v, func() error { heal(); return nil }, nil
	}}
}

// PartitionFault splits nodes into two random non-empty halves (a minority and a majority when
// their number is odd).
func PartitionFault(n *Net, nodes ...string) Fault {
	return Fault{Name: "partition", Inject: func(rnd *rand.Rand) (string, func() error, error) {
		if len(nodes) < 2 {
			return "", nil, errors.New("partition: fewer than two nodes")
		}
		perm := rnd.Perm(len(nodes))
		k := 1 + rnd.Intn(len(nodes)-1)
		var a, b []string
		for i, j := range perm {
			if i < k {
				a = append(a, nodes[j])
			} else {
				b = append(b, nodes[j])
			}
		}
		heal := n.Partition(a, b)
		return fmt.Sprintf("partition %v | %v", a, b), func() error { heal(); return nil }, nil
	}}
}
