// Package wire is RelayDB's one home for the MySQL client/server wire format below SQL: packet
// framing and the commands the node answers itself rather than through vitess.
//
// Framing (packet.go): a packet is a 4-byte header — 3-byte little-endian payload length, then a
// sequence id — and the payload. A payload of MaxPayload (2^24-1) bytes or more is split into
// chunks of MaxPayload bytes followed by one shorter chunk, possibly empty; each chunk has its
// own header and the next sequence id. Nothing outside this package decodes or encodes a header.
//
// Commands (commands.go): decoders take a command packet's whole payload, command byte
// included, and never panic on any input: a payload too short or inconsistent gets
// ErrMalformed. Encoders produce what the decoders accept, so Decode(Encode(x)) == x.
//
// Responses (response.go): OK and ERR payloads as a server sends them to a client that speaks
// protocol 4.1.
package wire
