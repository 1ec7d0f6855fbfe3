package gtid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
)

// SID is a server UUID, the first half of a GTID (vitess's type, so values pass to vitess as is).
type SID = mysql.SID

// GTID is one transaction identifier: Server is the originating server's UUID, Sequence its
// transaction number (GNO), from 1.
type GTID = mysql.Mysql56GTID

// MaxGNO is the largest transaction number a Set holds. MySQL stores interval ends exclusively in
// a signed 64-bit integer, so the last representable GNO is one less than math.MaxInt64.
const MaxGNO = math.MaxInt64 - 1

// Interval is a run of transaction numbers, Start and End both included, 1 <= Start <= End.
type Interval struct {
	Start, End int64
}

// Set is a set of GTIDs. The zero value is the empty set, ready to use.
type Set struct {
	m map[SID][]Interval
}

// ErrMalformed is wrapped by every parse and decode error of this package.
var ErrMalformed = errors.New("malformed GTID set")

// ParseSID parses a server UUID in its text form (8-4-4-4-12 hex digits, either case).
func ParseSID(s string) (SID, error) {
	sid, err := mysql.ParseSID(strings.TrimSpace(s))
	if err != nil {
		return SID{}, fmt.Errorf("%w: bad server UUID %q", ErrMalformed, s)
	}
	return sid, nil
}

// ParseGTID parses "uuid:N".
func ParseGTID(s string) (GTID, error) {
	u, n, ok := strings.Cut(s, ":")
	if !ok {
		return GTID{}, fmt.Errorf("%w: %q is not uuid:number", ErrMalformed, s)
	}
	sid, err := ParseSID(u)
	if err != nil {
		return GTID{}, err
	}
	gno, err := parseGNO(strings.TrimSpace(n))
	if err != nil {
		return GTID{}, fmt.Errorf("%w in %q", err, s)
	}
	return GTID{Server: sid, Sequence: gno}, nil
}

func parseGNO(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("%w: bad transaction number %q", ErrMalformed, s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 || v > MaxGNO {
		return 0, fmt.Errorf("%w: transaction number %q out of range 1..%d", ErrMalformed, s, int64(MaxGNO))
	}
	return v, nil
}

// Parse reads MySQL's text form: "uuid:1-5:7,uuid2:3", with optional spaces and newlines around
// the separators. The empty string is the empty set. As in MySQL, an interval whose end is below
// its start ("5-3") adds nothing; a GNO of 0 or a missing interval is an error.
func Parse(s string) (Set, error) {
	var set Set
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ":")
		if len(fields) < 2 {
			return Set{}, fmt.Errorf("%w: %q has no interval after the server UUID", ErrMalformed, part)
		}
		sid, err := ParseSID(fields[0])
		if err != nil {
			return Set{}, err
		}
		for _, f := range fields[1:] {
			f = strings.TrimSpace(f)
			lo, hi, isRange := strings.Cut(f, "-")
			start, err := parseGNO(strings.TrimSpace(lo))
			if err != nil {
				return Set{}, fmt.Errorf("%w in %q", err, part)
			}
			end := start
			if isRange {
				if end, err = parseGNO(strings.TrimSpace(hi)); err != nil {
					return Set{}, fmt.Errorf("%w in %q", err, part)
				}
			}
			if end < start {
				continue
			}
			set.addInterval(sid, Interval{start, end})
		}
	}
	return set, nil
}

// MustParse is Parse for constants in tests and examples; it panics on a malformed set.
func MustParse(s string) Set {
	set, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return set
}

// String gives MySQL's text form with SIDs in ascending byte order, sets separated by "," (MySQL
// itself puts a newline after each comma when it prints @@gtid_executed; callers that need that
// add it).
func (s Set) String() string {
	var b strings.Builder
	for i, sid := range s.SIDs() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sid.String())
		for _, iv := range s.m[sid] {
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(iv.Start, 10))
			if iv.End != iv.Start {
				b.WriteByte('-')
				b.WriteString(strconv.FormatInt(iv.End, 10))
			}
		}
	}
	return b.String()
}

// IsEmpty reports whether the set holds no GTID.
func (s Set) IsEmpty() bool { return len(s.m) == 0 }

// SIDs lists the server UUIDs present, in ascending byte order.
func (s Set) SIDs() []SID {
	sids := make([]SID, 0, len(s.m))
	for sid := range s.m {
		sids = append(sids, sid)
	}
	slices.SortFunc(sids, func(a, b SID) int { return compareSID(a, b) })
	return sids
}

func compareSID(a, b SID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Intervals returns a copy of the intervals held for sid, ascending.
func (s Set) Intervals(sid SID) []Interval {
	return slices.Clone(s.m[sid])
}

// Clone returns a set equal to s that shares no memory with it.
func (s Set) Clone() Set {
	if len(s.m) == 0 {
		return Set{}
	}
	c := Set{m: make(map[SID][]Interval, len(s.m))}
	for sid, ivs := range s.m {
		c.m[sid] = slices.Clone(ivs)
	}
	return c
}

// Contains reports whether g is in the set.
func (s Set) Contains(g GTID) bool {
	ivs := s.m[g.Server]
	i := sort.Search(len(ivs), func(k int) bool { return ivs[k].End >= g.Sequence })
	return i < len(ivs) && ivs[i].Start <= g.Sequence
}

// ContainsSet reports whether every GTID of o is in s (o is a subset of s). GTID_SUBSET(a, b) is
// b.ContainsSet(a).
func (s Set) ContainsSet(o Set) bool {
	for sid, ovs := range o.m {
		ivs := s.m[sid]
		i := 0
		for _, ov := range ovs {
			// Both lists are sorted and normalized: ov is covered only if one interval of s
			// covers it whole.
			for i < len(ivs) && ivs[i].End < ov.Start {
				i++
			}
			if i == len(ivs) || ivs[i].Start > ov.Start || ivs[i].End < ov.End {
				return false
			}
		}
	}
	return true
}

// Equal reports whether s and o hold the same GTIDs.
func (s Set) Equal(o Set) bool {
	if len(s.m) != len(o.m) {
		return false
	}
	for sid, ivs := range s.m {
		if !slices.Equal(ivs, o.m[sid]) {
			return false
		}
	}
	return true
}

// Add puts g in the set. A GNO outside 1..MaxGNO is refused with an error and changes nothing.
func (s *Set) Add(g GTID) error {
	if g.Sequence < 1 || g.Sequence > MaxGNO {
		return fmt.Errorf("%w: transaction number %d out of range 1..%d", ErrMalformed, g.Sequence, int64(MaxGNO))
	}
	s.addInterval(g.Server, Interval{g.Sequence, g.Sequence})
	return nil
}

// AddInterval puts sid:start-end in the set; start > end adds nothing.
func (s *Set) AddInterval(sid SID, start, end int64) error {
	if start < 1 || end > MaxGNO {
		return fmt.Errorf("%w: interval %d-%d out of range 1..%d", ErrMalformed, start, end, int64(MaxGNO))
	}
	if start <= end {
		s.addInterval(sid, Interval{start, end})
	}
	return nil
}

// AddSet puts every GTID of o in s (in-place union).
func (s *Set) AddSet(o Set) {
	for sid, ovs := range o.m {
		for _, iv := range ovs {
			s.addInterval(sid, iv)
		}
	}
}

// addInterval merges iv (valid, Start <= End) into the list for sid. Appending just after the
// last interval, the common case for a server numbering its own transactions, is O(1).
func (s *Set) addInterval(sid SID, iv Interval) {
	if s.m == nil {
		s.m = make(map[SID][]Interval)
	}
	ivs := s.m[sid]
	if n := len(ivs); n > 0 && ivs[n-1].End >= iv.Start-1 && ivs[n-1].Start <= iv.Start {
		if iv.End > ivs[n-1].End {
			ivs[n-1].End = iv.End
		}
		return
	}
	// First interval that touches or follows iv, and first one wholly after it.
	i := sort.Search(len(ivs), func(k int) bool { return ivs[k].End >= iv.Start-1 })
	j := sort.Search(len(ivs), func(k int) bool { return ivs[k].Start > iv.End+1 })
	if i == j {
		ivs = slices.Insert(ivs, i, iv)
	} else {
		merged := Interval{min(ivs[i].Start, iv.Start), max(ivs[j-1].End, iv.End)}
		ivs = slices.Replace(ivs, i, j, merged)
	}
	s.m[sid] = ivs
}

// Union returns the GTIDs in a or b.
func Union(a, b Set) Set {
	u := a.Clone()
	u.AddSet(b)
	return u
}

// Subtract returns the GTIDs of a that are not in b (MySQL's GTID_SUBTRACT(a, b)).
func Subtract(a, b Set) Set {
	var out Set
	for sid, avs := range a.m {
		bvs := b.m[sid]
		var res []Interval
		j := 0
		for _, iv := range avs {
			start := iv.Start
			for j < len(bvs) && bvs[j].End < start {
				j++
			}
			k := j
			for k < len(bvs) && bvs[k].Start <= iv.End {
				if bvs[k].Start > start {
					res = append(res, Interval{start, bvs[k].Start - 1})
				}
				if bvs[k].End >= iv.End {
					start = iv.End + 1
					break
				}
				start = bvs[k].End + 1
				k++
			}
			if start <= iv.End {
				res = append(res, Interval{start, iv.End})
			}
		}
		if len(res) > 0 {
			if out.m == nil {
				out.m = make(map[SID][]Interval)
			}
			out.m[sid] = res
		}
	}
	return out
}

// Intersect returns the GTIDs in both a and b.
func Intersect(a, b Set) Set {
	var out Set
	for sid, avs := range a.m {
		bvs, ok := b.m[sid]
		if !ok {
			continue
		}
		var res []Interval
		i, j := 0, 0
		for i < len(avs) && j < len(bvs) {
			lo, hi := max(avs[i].Start, bvs[j].Start), min(avs[i].End, bvs[j].End)
			if lo <= hi {
				res = append(res, Interval{lo, hi})
			}
			if avs[i].End < bvs[j].End {
				i++
			} else {
				j++
			}
		}
		if len(res) > 0 {
			if out.m == nil {
				out.m = make(map[SID][]Interval)
			}
			out.m[sid] = res
		}
	}
	return out
}

// Count returns how many GTIDs the set holds.
func (s Set) Count() int64 {
	var n int64
	for _, ivs := range s.m {
		for _, iv := range ivs {
			n += iv.End - iv.Start + 1
		}
	}
	return n
}

// NextGNO returns the smallest transaction number for sid that is not in the set, which is the
// number MySQL gives the next transaction it originates; 0 if every number is taken.
func (s Set) NextGNO(sid SID) int64 {
	next := int64(1)
	for _, iv := range s.m[sid] {
		if iv.Start > next {
			return next
		}
		next = iv.End + 1
	}
	if next > MaxGNO {
		return 0
	}
	return next
}

// Encode returns the SID block: n_sids (8 bytes), then per SID in ascending order the 16 UUID
// bytes, n_intervals (8 bytes) and each interval as start and exclusive end (8 bytes each), all
// little-endian. This is the body of a PREVIOUS_GTIDS event and the data of COM_BINLOG_DUMP_GTID.
func (s Set) Encode() []byte {
	n := 8
	for _, ivs := range s.m {
		n += 16 + 8 + 16*len(ivs)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s.m)))
	for _, sid := range s.SIDs() {
		b = append(b, sid[:]...)
		ivs := s.m[sid]
		b = binary.LittleEndian.AppendUint64(b, uint64(len(ivs)))
		for _, iv := range ivs {
			b = binary.LittleEndian.AppendUint64(b, uint64(iv.Start))
			b = binary.LittleEndian.AppendUint64(b, uint64(iv.End+1))
		}
	}
	return b
}

// Decode parses a SID block (see Encode). It refuses empty or reversed intervals, numbers out of
// range and trailing bytes; overlapping or unsorted intervals, which MySQL never writes, are
// merged.
func Decode(b []byte) (Set, error) {
	var set Set
	rest := b
	u64 := func() (uint64, bool) {
		if len(rest) < 8 {
			return 0, false
		}
		v := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		return v, true
	}
	nSIDs, ok := u64()
	if !ok {
		return Set{}, fmt.Errorf("%w: SID block of %d bytes has no SID count", ErrMalformed, len(b))
	}
	if nSIDs > uint64(len(rest))/(16+8) {
		return Set{}, fmt.Errorf("%w: SID block claims %d SIDs in %d bytes", ErrMalformed, nSIDs, len(b))
	}
	for i := uint64(0); i < nSIDs; i++ {
		if len(rest) < 16 {
			return Set{}, fmt.Errorf("%w: SID block truncated in SID %d", ErrMalformed, i)
		}
		var sid SID
		copy(sid[:], rest[:16])
		rest = rest[16:]
		nIv, ok := u64()
		if !ok || nIv > uint64(len(rest))/16 {
			return Set{}, fmt.Errorf("%w: SID block truncated in the intervals of %s", ErrMalformed, sid)
		}
		for k := uint64(0); k < nIv; k++ {
			start, _ := u64()
			end, _ := u64()
			if start < 1 || end <= start || end > MaxGNO+1 {
				return Set{}, fmt.Errorf("%w: SID block interval [%d, %d) of %s", ErrMalformed, start, end, sid)
			}
			set.addInterval(sid, Interval{int64(start), int64(end) - 1})
		}
	}
	if len(rest) != 0 {
		return Set{}, fmt.Errorf("%w: %d bytes after the SID block", ErrMalformed, len(rest))
	}
	return set, nil
}

// ToVitess returns the same set as vitess's type, for vitess's replication API. The intervals it
// holds are normalized, so vitess's own Equal and Contains work on it as expected.
func (s Set) ToVitess() mysql.Mysql56GTIDSet {
	v, err := mysql.NewMysql56GTIDSetFromSIDBlock(s.Encode())
	if err != nil {
		// Encode always produces a block vitess can read.
		panic(fmt.Sprintf("gtid: vitess refused our SID block: %v", err))
	}
	return v
}

// FromVitess converts a vitess MySQL 5.6+ GTID set, normalizing it. Other flavors, and sets with
// reversed or out-of-range intervals, are refused.
func FromVitess(v mysql.GTIDSet) (Set, error) {
	if v == nil {
		return Set{}, nil
	}
	m, ok := v.(mysql.Mysql56GTIDSet)
	if !ok {
		return Set{}, fmt.Errorf("gtid: %s GTID set is not a MySQL one", v.Flavor())
	}
	return Decode(m.SIDBlock())
}
