package rowenc

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dolthub/go-mysql-server/sql/types"
)

// decodeGeometry parses MySQL's stored geometry (a 4-byte little-endian
// SRID, then WKB) into GMS's geometry values. It checks every count
// against the bytes left, so that corrupt input cannot make it allocate
// or read beyond the value (GMS's own deserializers trust their input).
func decodeGeometry(b []byte) (types.GeometryValue, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: geometry shorter than its SRID", ErrCorrupt)
	}
	p := wkbParser{b: b, pos: 4, srid: binary.LittleEndian.Uint32(b)}
	g, err := p.geometry(0, 0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the geometry", ErrCorrupt, len(b)-p.pos)
	}
	return g, nil
}

type wkbParser struct {
	b    []byte
	pos  int
	srid uint32
	big  bool
}

func (p *wkbParser) u32() (uint32, error) {
	if len(p.b)-p.pos < 4 {
		return 0, fmt.Errorf("%w: geometry truncated", ErrCorrupt)
	}
	var v uint32
	if p.big {
		v = binary.BigEndian.Uint32(p.b[p.pos:])
	} else {
		v = binary.LittleEndian.Uint32(p.b[p.pos:])
	}
	p.pos += 4
	return v, nil
}

// count reads an element count and checks that that many elements of at
// least min bytes each fit in what is left.
func (p *wkbParser) count(min int) (int, error) {
	n, err := p.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(min) > uint64(len(p.b)-p.pos) {
		return 0, fmt.Errorf("%w: geometry count %d overruns the value", ErrCorrupt, n)
	}
	return int(n), nil
}

func (p *wkbParser) point() (types.Point, error) {
	if len(p.b)-p.pos < 16 {
		return types.Point{}, fmt.Errorf("%w: geometry truncated", ErrCorrupt)
	}
	var x, y uint64
	if p.big {
		x, y = binary.BigEndian.Uint64(p.b[p.pos:]), binary.BigEndian.Uint64(p.b[p.pos+8:])
	} else {
		x, y = binary.LittleEndian.Uint64(p.b[p.pos:]), binary.LittleEndian.Uint64(p.b[p.pos+8:])
	}
	p.pos += 16
	return types.Point{SRID: p.srid, X: math.Float64frombits(x), Y: math.Float64frombits(y)}, nil
}

func (p *wkbParser) line() (types.LineString, error) {
	n, err := p.count(16)
	if err != nil {
		return types.LineString{}, err
	}
	l := types.LineString{SRID: p.srid, Points: make([]types.Point, n)}
	for i := range l.Points {
		if l.Points[i], err = p.point(); err != nil {
			return types.LineString{}, err
		}
	}
	return l, nil
}

func (p *wkbParser) polygon() (types.Polygon, error) {
	n, err := p.count(4)
	if err != nil {
		return types.Polygon{}, err
	}
	pg := types.Polygon{SRID: p.srid, Lines: make([]types.LineString, n)}
	for i := range pg.Lines {
		if pg.Lines[i], err = p.line(); err != nil {
			return types.Polygon{}, err
		}
	}
	return pg, nil
}

// geometry reads one WKB geometry (byte order, type, body); want, when
// non-zero, is the type a multi-geometry requires of its elements.
func (p *wkbParser) geometry(want uint32, depth int) (types.GeometryValue, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("%w: geometry collections nested too deep", ErrCorrupt)
	}
	if len(p.b)-p.pos < 5 {
		return nil, fmt.Errorf("%w: geometry truncated", ErrCorrupt)
	}
	switch p.b[p.pos] {
	case 0:
		p.big = true
	case 1:
		p.big = false
	default:
		return nil, fmt.Errorf("%w: WKB byte order %d", ErrCorrupt, p.b[p.pos])
	}
	p.pos++
	typ, err := p.u32()
	if err != nil {
		return nil, err
	}
	if want != 0 && typ != want {
		return nil, fmt.Errorf("%w: WKB type %d inside a collection of %d", ErrCorrupt, typ, want)
	}
	switch typ {
	case types.WKBPointID:
		return p.point()
	case types.WKBLineID:
		return p.line()
	case types.WKBPolyID:
		return p.polygon()
	case types.WKBMultiPointID:
		n, err := p.count(21)
		if err != nil {
			return nil, err
		}
		m := types.MultiPoint{SRID: p.srid, Points: make([]types.Point, n)}
		for i := range m.Points {
			g, err := p.geometry(types.WKBPointID, depth+1)
			if err != nil {
				return nil, err
			}
			m.Points[i] = g.(types.Point)
		}
		return m, nil
	case types.WKBMultiLineID:
		n, err := p.count(9)
		if err != nil {
			return nil, err
		}
		m := types.MultiLineString{SRID: p.srid, Lines: make([]types.LineString, n)}
		for i := range m.Lines {
			g, err := p.geometry(types.WKBLineID, depth+1)
			if err != nil {
				return nil, err
			}
			m.Lines[i] = g.(types.LineString)
		}
		return m, nil
	case types.WKBMultiPolyID:
		n, err := p.count(9)
		if err != nil {
			return nil, err
		}
		m := types.MultiPolygon{SRID: p.srid, Polygons: make([]types.Polygon, n)}
		for i := range m.Polygons {
			g, err := p.geometry(types.WKBPolyID, depth+1)
			if err != nil {
				return nil, err
			}
			m.Polygons[i] = g.(types.Polygon)
		}
		return m, nil
	case types.WKBGeomCollID:
		n, err := p.count(5)
		if err != nil {
			return nil, err
		}
		m := types.GeomColl{SRID: p.srid, Geoms: make([]types.GeometryValue, n)}
		for i := range m.Geoms {
			if m.Geoms[i], err = p.geometry(0, depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: WKB geometry type %d", ErrCorrupt, typ)
}
