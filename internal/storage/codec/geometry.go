package codec

import (
	"encoding/binary"
	"math"

	"github.com/dolthub/go-mysql-server/sql/types"
)

// Geometries are stored as the EWKB bytes of types.GeometryValue.Serialize
// (4-byte little-endian SRID, then WKB). They are parsed back here rather
// than with GMS's types.Deserialize* functions, which trust the element
// counts in their input (a corrupt count makes them allocate without bound
// or index out of range) and reject some valid values, e.g. an empty
// LINESTRING inside a GEOMETRYCOLLECTION.

// maxGeometryDepth bounds the nesting of geometry collections.
const maxGeometryDepth = 64

type wkbReader struct {
	b    []byte
	pos  int
	srid uint32
}

func decodeGeometry(b []byte) (types.GeometryValue, error) {
	if len(b) < types.SRIDSize {
		return nil, corruptf("truncated geometry")
	}
	r := wkbReader{b: b, pos: types.SRIDSize, srid: binary.LittleEndian.Uint32(b)}
	g, err := r.geometry(0)
	if err != nil {
		return nil, err
	}
	if r.pos != len(b) {
		return nil, corruptf("%d trailing bytes after geometry", len(b)-r.pos)
	}
	return g, nil
}

// header reads a WKB header (byte order, type).
func (r *wkbReader) header() (big bool, typ uint32, err error) {
	if len(r.b)-r.pos < types.WKBHeaderSize {
		return false, 0, corruptf("truncated geometry header")
	}
	big = r.b[r.pos] == 0
	typ = r.u32(r.pos+1, big)
	r.pos += types.WKBHeaderSize
	return big, typ, nil
}

func (r *wkbReader) u32(at int, big bool) uint32 {
	if big {
		return binary.BigEndian.Uint32(r.b[at:])
	}
	return binary.LittleEndian.Uint32(r.b[at:])
}

// count reads an element count and checks that count elements of at least
// minSize bytes each fit in what is left.
func (r *wkbReader) count(big bool, minSize int) (int, error) {
	if len(r.b)-r.pos < types.CountSize {
		return 0, corruptf("truncated geometry count")
	}
	n := uint64(r.u32(r.pos, big))
	r.pos += types.CountSize
	if n*uint64(minSize) > uint64(len(r.b)-r.pos) {
		return 0, corruptf("geometry count %d overruns the value", n)
	}
	return int(n), nil
}

func (r *wkbReader) geometry(depth int) (types.GeometryValue, error) {
	big, typ, err := r.header()
	if err != nil {
		return nil, err
	}
	switch typ {
	case types.WKBPointID:
		return r.point(big)
	case types.WKBLineID:
		return r.line(big)
	case types.WKBPolyID:
		return r.poly(big)
	case types.WKBMultiPointID:
		n, err := r.count(big, types.WKBHeaderSize+types.PointSize)
		if err != nil {
			return nil, err
		}
		pts := make([]types.Point, n)
		for i := range pts {
			if pts[i], err = member(r, types.WKBPointID, r.point); err != nil {
				return nil, err
			}
		}
		return types.MultiPoint{SRID: r.srid, Points: pts}, nil
	case types.WKBMultiLineID:
		n, err := r.count(big, types.WKBHeaderSize+types.CountSize)
		if err != nil {
			return nil, err
		}
		lines := make([]types.LineString, n)
		for i := range lines {
			if lines[i], err = member(r, types.WKBLineID, r.line); err != nil {
				return nil, err
			}
		}
		return types.MultiLineString{SRID: r.srid, Lines: lines}, nil
	case types.WKBMultiPolyID:
		n, err := r.count(big, types.WKBHeaderSize+types.CountSize)
		if err != nil {
			return nil, err
		}
		polys := make([]types.Polygon, n)
		for i := range polys {
			if polys[i], err = member(r, types.WKBPolyID, r.poly); err != nil {
				return nil, err
			}
		}
		return types.MultiPolygon{SRID: r.srid, Polygons: polys}, nil
	case types.WKBGeomCollID:
		if depth >= maxGeometryDepth {
			return nil, corruptf("geometry collections nested deeper than %d", maxGeometryDepth)
		}
		n, err := r.count(big, types.WKBHeaderSize)
		if err != nil {
			return nil, err
		}
		geoms := make([]types.GeometryValue, n)
		for i := range geoms {
			if geoms[i], err = r.geometry(depth + 1); err != nil {
				return nil, err
			}
		}
		return types.GeomColl{SRID: r.srid, Geoms: geoms}, nil
	}
	return nil, corruptf("unknown geometry type %d", typ)
}

// member reads a WKB header that must announce type want, then the body.
func member[T any](r *wkbReader, want uint32, body func(big bool) (T, error)) (T, error) {
	var zero T
	big, typ, err := r.header()
	if err != nil {
		return zero, err
	}
	if typ != want {
		return zero, corruptf("geometry member of type %d, want %d", typ, want)
	}
	return body(big)
}

func (r *wkbReader) point(big bool) (types.Point, error) {
	if len(r.b)-r.pos < types.PointSize {
		return types.Point{}, corruptf("truncated point")
	}
	var x, y uint64
	if big {
		x, y = binary.BigEndian.Uint64(r.b[r.pos:]), binary.BigEndian.Uint64(r.b[r.pos+8:])
	} else {
		x, y = binary.LittleEndian.Uint64(r.b[r.pos:]), binary.LittleEndian.Uint64(r.b[r.pos+8:])
	}
	r.pos += types.PointSize
	return types.Point{SRID: r.srid, X: math.Float64frombits(x), Y: math.Float64frombits(y)}, nil
}

func (r *wkbReader) line(big bool) (types.LineString, error) {
	n, err := r.count(big, types.PointSize)
	if err != nil {
		return types.LineString{}, err
	}
	pts := make([]types.Point, n)
	for i := range pts {
		if pts[i], err = r.point(big); err != nil {
			return types.LineString{}, err
		}
	}
	return types.LineString{SRID: r.srid, Points: pts}, nil
}

func (r *wkbReader) poly(big bool) (types.Polygon, error) {
	n, err := r.count(big, types.CountSize)
	if err != nil {
		return types.Polygon{}, err
	}
	lines := make([]types.LineString, n)
	for i := range lines {
		if lines[i], err = r.line(big); err != nil {
			return types.Polygon{}, err
		}
	}
	return types.Polygon{SRID: r.srid, Lines: lines}, nil
}
