// Package sqldigest computes a text statement's digest: the statement with each number and
// string literal replaced by '?', and the literals themselves, typed and decoded. Statements
// that differ only in their literal values share a digest, so the server can recognize a
// statement it has planned before without parsing it (the text-protocol fast path), as
// performance_schema's statement digests and ProxySQL's query rules do.
//
// The lexer reads the text as the parser go-mysql-server uses (dolthub/vitess) does: the same
// string escapes (vitess's decode table), the same comment forms, the same number forms.
//
// Invariants:
//   - Everything that is not a replaced literal is copied byte for byte into the digest:
//     keywords and identifiers in their case, whitespace, comments, quoted identifiers, and
//     literals that are not replaced (hex, bit, introduced or typed strings, NULL, TRUE). Two
//     statements with the same digest therefore differ only inside replaced literals.
//   - Only plain decimal numbers (integers, decimals, floats with an exponent) and plain
//     quoted strings are replaced. Where the lexer is not sure how the parser reads a literal
//     — a number followed by a letter or a dot, a string followed by another string (which
//     MySQL concatenates) or by '@' (an account name), a string right after an identifier (x'…',
//     N'…', _utf8mb4'…') or after a word starting with '_' (an introducer), a '?' or ':' in the
//     text (bind-variable syntax), an executable comment /*!…*/, an unterminated quote or
//     comment — Normalize reports !ok and the statement is not given a digest at all.
//   - A digest alone proves nothing about how the parser reads it: the caller validates a
//     digest once against a real parse (see package server's text fast path) before trusting it.
package sqldigest
