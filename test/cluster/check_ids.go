package cluster

import "fmt"

// Unique-id operation names (Op.F) for CheckUniqueIDs.
const (
	FInsert   = "insert"
	FFinalIDs = "final-ids"
)

// CheckUniqueIDs checks an auto-increment workload: the output of an OK insert is the id it got
// (int64); no id is returned by two OK inserts. When the history has an OK final-ids read
// ([]int64, every id in the table at the end), an OK insert whose id is missing from it is
// reported as an acknowledged insert lost.
func CheckUniqueIDs(history []Op) []Violation {
	const name = "unique ids"
	ops, err := Pair(history)
	if err != nil {
		return []Violation{{Checker: name, Message: err.Error()}}
	}
	var viol []Violation
	got := map[int64]Operation{}
	var inserts []Operation
	var final *Operation
	for i, o := range ops {
		if o.Type != OK {
			continue
		}
		switch o.F {
		case FInsert:
			id, ok := o.Output.(int64)
			if !ok {
				viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("insert output is %T, want int64", o.Output), Ops: []Operation{o}})
				continue
			}
			if prev, dup := got[id]; dup {
				viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("id %d returned by two acknowledged inserts", id), Ops: []Operation{prev, o}})
				continue
			}
			got[id] = o
			inserts = append(inserts, o)
		case FFinalIDs:
			if _, ok := o.Output.([]int64); !ok {
				viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("final-ids output is %T, want []int64", o.Output), Ops: []Operation{o}})
				continue
			}
			final = &ops[i]
		}
	}
	if final == nil {
		return viol
	}
	present := map[int64]bool{}
	for _, id := range final.Output.([]int64) {
		present[id] = true
	}
	for _, o := range inserts {
		if id := o.Output.(int64); !present[id] {
			viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("acknowledged insert lost: id %d is not in the final table", id), Ops: []Operation{o, *final}})
		}
	}
	return viol
}
