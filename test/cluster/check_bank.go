package cluster

import (
	"fmt"
	"sort"
)

// Bank operation names (Op.F) for CheckBank.
const (
	FTransfer  = "transfer"
	FBalances  = "balances"
	FFinalRead = "final-read"
)

// Transfer is the input of a transfer operation. ID is unique in the history; the workload
// records it in a table in the same transaction as the transfer.
type Transfer struct {
	ID     int64  `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

// BankState is the output of a balances read (Transfers may be nil) and of the final read at
// the end of the run (Transfers: every transfer id in the table).
type BankState struct {
	Balances  map[string]int64 `json:"balances"`
	Transfers []int64          `json:"transfers,omitempty"`
}

// BankOptions configures CheckBank.
type BankOptions struct {
	// Total is the sum of all balances at the start.
	Total int64
	// Accounts, when not 0, is the number of accounts every read must see.
	Accounts int
	// AllowNegative: the workload lets balances go below zero.
	AllowNegative bool
}

// CheckBank checks a bank workload: every OK read of all accounts (balances and final-read)
// sums to the initial total, sees every account and no negative balance (unless allowed);
// every OK transfer is in the final read's transfer table, and no failed one is.
func CheckBank(history []Op, opts BankOptions) []Violation {
	const name = "bank"
	ops, err := Pair(history)
	if err != nil {
		return []Violation{{Checker: name, Message: err.Error()}}
	}
	var viol []Violation
	bad := func(o Operation, format string, args ...any) {
		viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf(format, args...), Ops: []Operation{o}})
	}
	var final *Operation
	var transfers []Operation
	for i, o := range ops {
		switch o.F {
		case FTransfer:
			if _, ok := o.Input.(Transfer); !ok {
				bad(o, "transfer input is %T, want Transfer", o.Input)
				continue
			}
			transfers = append(transfers, o)
		case FBalances, FFinalRead:
			if o.Type != OK {
				continue
			}
			st, ok := o.Output.(BankState)
			if !ok {
				bad(o, "%s output is %T, want BankState", o.F, o.Output)
				continue
			}
			var sum int64
			for _, b := range st.Balances {
				sum += b
			}
			if sum != opts.Total {
				bad(o, "balances sum to %d, want %d (off by %+d): %v", sum, opts.Total, sum-opts.Total, sortedBalances(st.Balances))
			}
			if opts.Accounts != 0 && len(st.Balances) != opts.Accounts {
				bad(o, "read saw %d accounts, want %d", len(st.Balances), opts.Accounts)
			}
			if !opts.AllowNegative {
				for _, a := range sortedKeys(st.Balances) {
					if st.Balances[a] < 0 {
						bad(o, "account %s has a negative balance %d", a, st.Balances[a])
					}
				}
			}
			if o.F == FFinalRead {
				final = &ops[i]
			}
		}
	}
	if final == nil {
		for _, t := range transfers {
			if t.Type == OK {
				viol = append(viol, Violation{Checker: name, Message: "acknowledged transfers but no OK final-read to check them against"})
				break
			}
		}
		return viol
	}
	st := final.Output.(BankState)
	present := map[int64]int{}
	for _, id := range st.Transfers {
		present[id]++
	}
	for _, t := range transfers {
		id := t.Input.(Transfer).ID
		switch {
		case t.Type == OK && present[id] == 0:
			viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("acknowledged transfer %d lost: not in the final state", id), Ops: []Operation{t, *final}})
		case t.Type == Fail && present[id] > 0:
			viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("transfer %d reported failed but is in the final state", id), Ops: []Operation{t, *final}})
		}
	}
	for _, id := range sortedIDs(present) {
		if present[id] > 1 {
			viol = append(viol, Violation{Checker: name, Message: fmt.Sprintf("transfer %d appears %d times in the final state", id, present[id]), Ops: []Operation{*final}})
		}
	}
	return viol
}

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sortedBalances(m map[string]int64) string {
	s := "{"
	for i, k := range sortedKeys(m) {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%d", k, m[k])
	}
	return s + "}"
}

func sortedIDs(m map[int64]int) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
