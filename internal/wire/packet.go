package wire

import (
	"errors"
	"fmt"
	"io"
)

const (
	// HeaderSize is the size of a packet header: payload length (3 bytes), sequence id.
	HeaderSize = 4
	// MaxPayload is the largest payload one chunk carries; a chunk this long is continued by
	// the next one.
	MaxPayload = 1<<24 - 1
)

// ErrTooLarge is returned by ReadPacket for a payload over the caller's limit; the payload's
// bytes past its first header have not been read.
var ErrTooLarge = errors.New("packet larger than the limit")

// ParseHeader decodes a packet header; h must hold at least HeaderSize bytes.
func ParseHeader(h []byte) (length int, seq byte) {
	return int(h[0]) | int(h[1])<<8 | int(h[2])<<16, h[3]
}

// PutHeader encodes a header into h[:HeaderSize]; length must be at most MaxPayload.
func PutHeader(h []byte, length int, seq byte) {
	h[0], h[1], h[2], h[3] = byte(length), byte(length>>8), byte(length>>16), seq
}

// AppendHeader appends a header to b.
func AppendHeader(b []byte, length int, seq byte) []byte {
	return append(b, byte(length), byte(length>>8), byte(length>>16), seq)
}

// AppendPacket appends payload to dst as one logical packet, split into chunks as the protocol
// requires, starting at sequence id seq. It returns the sequence id the next packet takes.
func AppendPacket(dst []byte, seq byte, payload []byte) ([]byte, byte) {
	for {
		n := min(len(payload), MaxPayload)
		dst = AppendHeader(dst, n, seq)
		dst = append(dst, payload[:n]...)
		seq++
		payload = payload[n:]
		if n < MaxPayload {
			return dst, seq
		}
	}
}

// WritePacket writes payload as one logical packet starting at sequence id seq, and returns the
// sequence id the next packet takes. Headers and chunks are written separately, so a big
// payload is not copied.
func WritePacket(w io.Writer, seq byte, payload []byte) (byte, error) {
	var h [HeaderSize]byte
	for {
		n := min(len(payload), MaxPayload)
		PutHeader(h[:], n, seq)
		seq++
		if _, err := w.Write(h[:]); err != nil {
			return seq, err
		}
		if n > 0 {
			if _, err := w.Write(payload[:n]); err != nil {
				return seq, err
			}
		}
		payload = payload[n:]
		if n < MaxPayload {
			return seq, nil
		}
	}
}

// ReadPacket reads one logical packet, reassembling continued chunks, and returns its payload
// and the sequence id of its last chunk (the reply takes the next one). A payload longer than
// limit gets ErrTooLarge before it is read (limit <= 0: no limit but memory).
func ReadPacket(r io.Reader, limit int) (payload []byte, seq byte, err error) {
	var h [HeaderSize]byte
	for first := true; ; first = false {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if !first && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		n, s := ParseHeader(h[:])
		seq = s
		if limit > 0 && len(payload)+n > limit {
			return nil, seq, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload)+n, limit)
		}
		start := len(payload)
		payload = append(payload, make([]byte, n)...)
		if _, err := io.ReadFull(r, payload[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, seq, err
		}
		if n < MaxPayload {
			if payload == nil {
				payload = []byte{}
			}
			return payload, seq, nil
		}
	}
}

// SplitPacket returns the first whole packet (one chunk, header included) at the start of b
// and the bytes after it; ok is false if b does not hold a whole one yet.
func SplitPacket(b []byte) (pkt, rest []byte, ok bool) {
	if len(b) < HeaderSize {
		return nil, b, false
	}
	n, _ := ParseHeader(b)
	if len(b) < HeaderSize+n {
		return nil, b, false
	}
	return b[:HeaderSize+n], b[HeaderSize+n:], true
}
