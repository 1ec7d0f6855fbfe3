package cluster

import (
	"fmt"
	"sort"
)

// EpochAck is the output of an OK write for CheckEpochs: the node that acknowledged it and the
// epoch it read inside the write's transaction.
type EpochAck struct {
	Node  string `json:"node"`
	Epoch int64  `json:"epoch"`
}

// CheckEpochs looks for split brain in the OK operations whose output is an EpochAck (any F):
// two different nodes acknowledging writes under the same epoch, or a write acknowledged under
// epoch e that was invoked after a write under a larger epoch had completed (an old primary
// still acknowledging after a newer one had).
func CheckEpochs(history []Op) []Violation {
	const name = "epochs"
	ops, err := Pair(history)
	if err != nil {
		return []Violation{{Checker: name, Message: err.Error()}}
	}
	type ack struct {
		op Operation
		EpochAck
	}
	var acks []ack
	for _, o := range ops {
		if a, ok := o.Output.(EpochAck); ok && o.Type == OK {
			acks = append(acks, ack{o, a})
		}
	}
	var viol []Violation

	// One node per epoch: the first acknowledgement by each node under each epoch.
	first := map[int64]map[string]Operation{}
	for _, a := range acks {
		if first[a.Epoch] == nil {
			first[a.Epoch] = map[string]Operation{}
		}
		if _, ok := first[a.Epoch][a.Node]; !ok {
			first[a.Epoch][a.Node] = a.op
		}
	}
	epochs := make([]int64, 0, len(first))
	for e := range first {
		epochs = append(epochs, e)
	}
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })
	for _, e := range epochs {
		if len(first[e]) < 2 {
			continue
		}
		var nodes []string
		for n := range first[e] {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		v := Violation{Checker: name, Message: fmt.Sprintf("split brain: nodes %v all acknowledged writes under epoch %d", nodes, e)}
		for _, n := range nodes {
			v.Ops = append(v.Ops, first[e][n])
		}
		viol = append(viol, v)
	}

	// No acknowledgement under an epoch older than one already acknowledged before it began:
	// sweep the writes by invocation time, folding in completions that came before.
	byCall := append([]ack(nil), acks...)
	sort.Slice(byCall, func(i, j int) bool { return byCall[i].op.Call < byCall[j].op.Call })
	byRet := append([]ack(nil), acks...)
	sort.Slice(byRet, func(i, j int) bool { return byRet[i].op.Return < byRet[j].op.Return })
	var newest *ack
	j := 0
	reported := map[[2]int64]bool{}
	for _, a := range byCall {
		for j < len(byRet) && byRet[j].op.Return < a.op.Call {
			if newest == nil || byRet[j].Epoch > newest.Epoch {
				newest = &byRet[j]
			}
			j++
		}
		if newest != nil && a.Epoch < newest.Epoch {
			k := [2]int64{a.Epoch, newest.Epoch}
			if reported[k] {
				continue // one report per pair of epochs
			}
			reported[k] = true
			viol = append(viol, Violation{Checker: name,
				Message: fmt.Sprintf("stale primary: %s acknowledged a write under epoch %d that began after %s had acknowledged one under epoch %d", a.Node, a.Epoch, newest.Node, newest.Epoch),
				Ops:     []Operation{newest.op, a.op}})
		}
	}
	return viol
}
