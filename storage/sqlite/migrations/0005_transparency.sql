-- 0005_transparency: the audit log becomes a transparency log.
--
-- audit_log holds one entry per audit event, numbered by log_index from 0
-- in commit order, with the tree hashes that appending it added to the
-- log's Merkle tree (golang.org/x/mod/sumdb/tlog): the leaf hash of the
-- event (storage.LeafHash) first, then the hash of each complete subtree
-- the entry finished, lowest first (storage.EntryHashes). From them the
-- store computes the root hash at any size, and proofs, reading a few
-- entries per level. audit_log_head holds the log's size, in one row,
-- which AppendEvents moves with the entries it appends.
--
-- The triggers below refuse changes by mistake; they stop no one who can
-- write to the file. What detects such changes is the signed checkpoints
-- the application keeps outside the database (see package storage).
--
-- The events already stored go into the log by the migration's Go step,
-- which numbers them in their stored order (kind, record ID, sequence) and
-- computes their tree hashes; their per-record hash chain stays as it is.
CREATE TABLE audit_log (
    log_index INTEGER NOT NULL PRIMARY KEY CHECK (log_index >= 0),
    kind      TEXT    NOT NULL,
    record_id TEXT    NOT NULL,
    sequence  INTEGER NOT NULL CHECK (sequence >= 1),
    hashes    BLOB    NOT NULL CHECK (length(hashes) % 32 = 0 AND length(hashes) >= 32),
    -- The entry's seal (storage.Seal) when the store has a seal key;
    -- NULL for entries appended without one, such as those of the
    -- migration.
    seal      BLOB    CHECK (seal IS NULL OR length(seal) = 32),
    UNIQUE (kind, record_id, sequence)
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- An entry must be the next one.
CREATE TRIGGER audit_log_in_order BEFORE INSERT ON audit_log
WHEN NEW.log_index <> 1 + coalesce((SELECT max(log_index) FROM audit_log), -1)
BEGIN
    SELECT RAISE(ABORT, 'audit log entry out of order');
END;

CREATE TABLE audit_log_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0)
) STRICT;
INSERT INTO audit_log_head (id, size) VALUES (1, 0);

CREATE TRIGGER audit_log_head_forward_only BEFORE UPDATE ON audit_log_head
WHEN NEW.size < OLD.size OR NEW.id <> OLD.id
BEGIN
    SELECT RAISE(ABORT, 'the audit log only grows');
END;

CREATE TRIGGER audit_log_head_no_delete BEFORE DELETE ON audit_log_head
BEGIN
    SELECT RAISE(ABORT, 'the audit log head is never removed');
END;
