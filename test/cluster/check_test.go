package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hist builds a synthetic history with explicit monotonic times, for checker tests.
type hist struct{ ops []Op }

func (h *hist) inv(t int64, p int, f string, in any) *hist {
	h.ops = append(h.ops, Op{Index: len(h.ops), Type: Invoke, Process: p, F: f, Value: in, Mono: t})
	return h
}

func (h *hist) done(t int64, p int, typ OpType, f string, out any) *hist {
	h.ops = append(h.ops, Op{Index: len(h.ops), Type: typ, Process: p, F: f, Value: out, Mono: t})
	return h
}

func i64(v int64) *int64 { return &v }

func wantNone(t *testing.T, v []Violation) {
	t.Helper()
	for _, x := range v {
		t.Errorf("unexpected violation: %s", x)
	}
}

func wantOne(t *testing.T, v []Violation, substr string) {
	t.Helper()
	if len(v) != 1 {
		t.Fatalf("want one violation containing %q, got %d: %v", substr, len(v), v)
	}
	if !strings.Contains(v[0].String(), substr) {
		t.Fatalf("violation %q does not mention %q", v[0], substr)
	}
	t.Logf("caught: %s", v[0])
}

func TestRegistersLinearizable(t *testing.T) {
	k := RegisterOp{Key: "x"}
	w := func(v int64) RegisterOp { return RegisterOp{Key: "x", Value: v} }
	cas := func(o, n int64) RegisterOp { return RegisterOp{Key: "x", Old: o, New: n} }
	h := (&hist{}).
		inv(0, 0, FRead, k).done(1, 0, OK, FRead, (*int64)(nil)).
		inv(2, 0, FWrite, w(1)).done(3, 0, OK, FWrite, nil).
		// concurrent write 2 and read: the read may see either.
		inv(4, 1, FWrite, w(2)).inv(5, 0, FRead, k).done(6, 0, OK, FRead, i64(1)).done(7, 1, OK, FWrite, nil).
		inv(8, 0, FCAS, cas(2, 3)).done(9, 0, OK, FCAS, true).
		inv(10, 1, FCAS, cas(2, 4)).done(11, 1, OK, FCAS, false).
		// a failed write never happened.
		inv(12, 2, FWrite, w(9)).done(13, 2, Fail, FWrite, nil).
		// an unknown write may take effect later: a read long after sees it.
		inv(14, 3, FWrite, w(5)).done(15, 3, Info, FWrite, nil).
		inv(16, 0, FRead, k).done(17, 0, OK, FRead, i64(3)).
		inv(18, 0, FRead, k).done(19, 0, OK, FRead, i64(5)).
		// another key, independent.
		inv(20, 4, FRead, RegisterOp{Key: "y"}).done(21, 4, OK, FRead, (*int64)(nil))
	wantNone(t, CheckRegisters(h.ops, RegisterOptions{}))
}

func TestRegistersStaleRead(t *testing.T) {
	k := RegisterOp{Key: "x"}
	dir := t.TempDir()
	h := (&hist{}).
		inv(0, 0, FWrite, RegisterOp{Key: "x", Value: 1}).done(1, 0, OK, FWrite, nil).
		inv(2, 0, FWrite, RegisterOp{Key: "x", Value: 2}).done(3, 0, OK, FWrite, nil).
		// read after write 2 completed returns 1: a stale read (say, from a lagging replica).
		inv(4, 1, FRead, k).done(5, 1, OK, FRead, i64(1)).
		inv(0, 2, FRead, RegisterOp{Key: "y"}).done(6, 2, OK, FRead, (*int64)(nil))
	v := CheckRegisters(h.ops, RegisterOptions{VisualizeDir: dir})
	wantOne(t, v, `key "x": not linearizable`)
	if _, err := os.Stat(filepath.Join(dir, "register-x.html")); err != nil {
		t.Fatalf("no visualization: %v", err)
	}
}

func TestRegistersFailedWriteSeen(t *testing.T) {
	k := RegisterOp{Key: "x"}
	h := (&hist{}).
		inv(0, 0, FWrite, RegisterOp{Key: "x", Value: 7}).done(1, 0, Fail, FWrite, nil).
		inv(2, 1, FRead, k).done(3, 1, OK, FRead, i64(7))
	wantOne(t, CheckRegisters(h.ops, RegisterOptions{}), "not linearizable")
}

func TestRegistersCASWrongOutcome(t *testing.T) {
	h := (&hist{}).
		inv(0, 0, FWrite, RegisterOp{Key: "x", Value: 1}).done(1, 0, OK, FWrite, nil).
		// cas(1,2) says it did not apply although the value was 1.
		inv(2, 0, FCAS, RegisterOp{Key: "x", Old: 1, New: 2}).done(3, 0, OK, FCAS, false)
	wantOne(t, CheckRegisters(h.ops, RegisterOptions{}), "not linearizable")
	// An unknown cas(1,2) may have applied: a later read of 2 is fine.
	h = (&hist{}).
		inv(0, 0, FWrite, RegisterOp{Key: "x", Value: 1}).done(1, 0, OK, FWrite, nil).
		inv(2, 1, FCAS, RegisterOp{Key: "x", Old: 1, New: 2}).done(3, 1, Info, FCAS, nil).
		inv(4, 0, FRead, RegisterOp{Key: "x"}).done(5, 0, OK, FRead, i64(2)).
		inv(6, 0, FRead, RegisterOp{Key: "x"}).done(7, 0, OK, FRead, i64(2))
	wantNone(t, CheckRegisters(h.ops, RegisterOptions{}))
}

func TestBank(t *testing.T) {
	opts := BankOptions{Total: 200, Accounts: 2}
	good := func() *hist {
		return (&hist{}).
			inv(0, 0, FTransfer, Transfer{ID: 1, From: "a", To: "b", Amount: 10}).done(1, 0, OK, FTransfer, nil).
			inv(2, 1, FTransfer, Transfer{ID: 2, From: "b", To: "a", Amount: 5}).done(3, 1, Fail, FTransfer, nil).
			inv(4, 2, FTransfer, Transfer{ID: 3, From: "b", To: "a", Amount: 5}).done(5, 2, Info, FTransfer, nil).
			inv(6, 0, FBalances, nil).done(7, 0, OK, FBalances, BankState{Balances: map[string]int64{"a": 90, "b": 110}})
	}
	h := good().inv(8, 0, FFinalRead, nil).done(9, 0, OK, FFinalRead,
		BankState{Balances: map[string]int64{"a": 95, "b": 105}, Transfers: []int64{1, 3}})
	wantNone(t, CheckBank(h.ops, opts))

	h = good().inv(8, 0, FFinalRead, nil).done(9, 0, OK, FFinalRead,
		BankState{Balances: map[string]int64{"a": 100, "b": 100}, Transfers: []int64{}})
	wantOne(t, CheckBank(h.ops, opts), "acknowledged transfer 1 lost")

	h = good().inv(8, 3, FBalances, nil).done(9, 3, OK, FBalances, BankState{Balances: map[string]int64{"a": 90, "b": 100}}).
		inv(10, 0, FFinalRead, nil).done(11, 0, OK, FFinalRead, BankState{Balances: map[string]int64{"a": 90, "b": 110}, Transfers: []int64{1}})
	wantOne(t, CheckBank(h.ops, opts), "balances sum to 190, want 200")

	h = good().inv(10, 0, FFinalRead, nil).done(11, 0, OK, FFinalRead, BankState{Balances: map[string]int64{"a": 210, "b": -10}, Transfers: []int64{1}})
	wantOne(t, CheckBank(h.ops, opts), "negative balance -10")

	h = good().inv(10, 0, FFinalRead, nil).done(11, 0, OK, FFinalRead, BankState{Balances: map[string]int64{"a": 95, "b": 105}, Transfers: []int64{1, 2}})
	wantOne(t, CheckBank(h.ops, opts), "transfer 2 reported failed")
}

func TestEpochs(t *testing.T) {
	h := (&hist{}).
		inv(0, 0, FWrite, 1).done(1, 0, OK, FWrite, EpochAck{"n1", 1}).
		// concurrent with the failover: an old-epoch ack overlapping a new-epoch one is fine.
		inv(2, 1, FWrite, 2).inv(3, 0, FWrite, 3).done(4, 0, OK, FWrite, EpochAck{"n2", 2}).done(5, 1, OK, FWrite, EpochAck{"n1", 1}).
		inv(6, 0, FWrite, 4).done(7, 0, Fail, FWrite, nil).
		inv(8, 0, FWrite, 5).done(9, 0, OK, FWrite, EpochAck{"n2", 2}).
		inv(10, 0, FWrite, 6).done(11, 0, OK, FWrite, EpochAck{"n3", 3})
	wantNone(t, CheckEpochs(h.ops))

	// Two primaries under one epoch.
	bad := (&hist{ops: append([]Op(nil), h.ops...)}).
		inv(12, 2, FWrite, 7).done(13, 2, OK, FWrite, EpochAck{"n1", 3})
	wantOne(t, CheckEpochs(bad.ops), "split brain: nodes [n1 n3] all acknowledged writes under epoch 3")

	// n1 acknowledges under epoch 1 a write begun after n3 acknowledged under epoch 3.
	bad = (&hist{ops: append([]Op(nil), h.ops...)}).
		inv(12, 2, FWrite, 7).done(13, 2, OK, FWrite, EpochAck{"n1", 1})
	wantOne(t, CheckEpochs(bad.ops), "stale primary: n1 acknowledged a write under epoch 1 that began after n3 had acknowledged one under epoch 3")
}

func TestUniqueIDs(t *testing.T) {
	h := (&hist{}).
		inv(0, 0, FInsert, nil).done(1, 0, OK, FInsert, int64(1)).
		inv(2, 1, FInsert, nil).done(3, 1, OK, FInsert, int64(2)).
		inv(4, 2, FInsert, nil).done(5, 2, Info, FInsert, nil).
		inv(6, 0, FInsert, nil).done(7, 0, Fail, FInsert, nil)
	wantNone(t, CheckUniqueIDs(h.ops))
	good := append([]Op(nil), h.ops...)

	dup := (&hist{ops: append([]Op(nil), good...)}).inv(8, 3, FInsert, nil).done(9, 3, OK, FInsert, int64(2))
	wantOne(t, CheckUniqueIDs(dup.ops), "id 2 returned by two acknowledged inserts")

	lost := (&hist{ops: append([]Op(nil), good...)}).inv(8, 0, FFinalIDs, nil).done(9, 0, OK, FFinalIDs, []int64{2, 3})
	wantOne(t, CheckUniqueIDs(lost.ops), "acknowledged insert lost: id 1")
}

func TestPairRejectsMalformed(t *testing.T) {
	h := (&hist{}).inv(0, 0, FRead, nil).inv(1, 0, FRead, nil)
	if _, err := Pair(h.ops); err == nil {
		t.Fatal("two outstanding invocations on one process accepted")
	}
	h = (&hist{}).done(0, 0, OK, FRead, nil)
	if _, err := Pair(h.ops); err == nil {
		t.Fatal("completion without invocation accepted")
	}
}

func TestRecorderJSONL(t *testing.T) {
	r := NewRecorder()
	c := r.Invoke(0, FWrite, RegisterOp{Key: "x", Value: 1}, "n1")
	r.Nemesis("kill n1", "start")
	c.Info(os.ErrDeadlineExceeded)
	c.OK(nil) // ignored: already completed
	h := r.History()
	if len(h) != 3 || h[2].Type != Info || h[2].Error == "" || h[2].Mono < h[0].Mono {
		t.Fatalf("history %+v", h)
	}
	p := filepath.Join(t.TempDir(), "h.jsonl")
	if err := r.WriteJSONL(p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if n := strings.Count(string(b), "\n"); n != 3 || !strings.Contains(string(b), `"key":"x"`) {
		t.Fatalf("jsonl:\n%s", b)
	}
}
