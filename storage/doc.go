// Package storage holds what the storage adapters share and what holds no
// domain rule: the hash chain that makes audit trails tamper-evident, the
// SLA threshold crossings a wake-up worker records, and the worker loop
// itself.
//
// The adapters live in subpackages: storage/memory (in process),
// storage/sqlite (the embedded default) and storage/postgres (for several
// application instances sharing one database). storage/storagetest is the
// conformance suite they all pass.
package storage
