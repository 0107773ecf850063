-- itsmkit PostgreSQL schema, version 6: the audit log becomes a
-- transparency log.
--
-- audit_log holds one entry per audit event, numbered by log_index from 0
-- in commit order, with the tree hashes that appending it added to the
-- log's Merkle tree (golang.org/x/mod/sumdb/tlog): the leaf hash of the
-- event (storage.LeafHash) first, then the hash of each complete subtree
-- the entry finished, lowest first (storage.EntryHashes). From them the
-- store computes the root hash at any size, and proofs, reading a few
-- entries per level. audit_log_head holds the log's size in one row,
-- whose row lock serialises appenders: audit_log_append takes it with the
-- COMMIT of each writing transaction, so indexes follow commit order
-- without gaps.
--
-- The events already stored go into the log by the migration's Go step,
-- which numbers them in their stored order (kind, record ID, sequence) and
-- computes their tree hashes; their per-record hash chain stays as it is.
--
-- The triggers below refuse changes by mistake; they stop no one who owns
-- the tables. What detects such changes is the signed checkpoints the
-- application keeps outside the database (see package storage).
CREATE TABLE audit_log (
    log_index bigint NOT NULL CONSTRAINT audit_log_pkey PRIMARY KEY CHECK (log_index >= 0),
    kind      text COLLATE "C" NOT NULL,
    record_id text COLLATE "C" NOT NULL,
    sequence  bigint NOT NULL CHECK (sequence >= 1),
    hashes    bytea NOT NULL CHECK (length(hashes) % 32 = 0 AND length(hashes) >= 32),
    -- The entry's seal (storage.Seal) when the store has a seal key;
    -- NULL for entries appended without one, such as those of the
    -- migration.
    seal      bytea CHECK (seal IS NULL OR length(seal) = 32),
    CONSTRAINT audit_log_event_key UNIQUE (kind, record_id, sequence)
);

CREATE TABLE audit_log_head (
    id   integer NOT NULL CONSTRAINT audit_log_head_pkey PRIMARY KEY CHECK (id = 1),
    size bigint NOT NULL CHECK (size >= 0)
);
INSERT INTO audit_log_head (id, size) VALUES (1, 0);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_log_head' AND TG_OP = 'UPDATE' THEN
        IF NEW.size >= OLD.size AND NEW.id = OLD.id THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_log_head only grows' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_head_forward_only BEFORE UPDATE OR DELETE ON audit_log_head
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_head_no_truncate BEFORE TRUNCATE ON audit_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- audit_log_append appends the events named by kinds, record_ids and
-- sequences, whose leaf hashes (storage.LeafHash, computed by the store)
-- are leaves and whose seals (NULL elements for none) are seals, after
-- the log's last entry, computing the tree hashes the
-- way tlog.StoredHashesForRecordHash does: the node hash of two subtrees
-- is SHA-256 of 0x01, the left hash and the right hash; the left subtree
-- of level l that entry n completes is the one entry n - 2^l completed,
-- kept at position l of its hashes. It returns the first index appended.
CREATE FUNCTION audit_log_append(kinds text[], record_ids text[], sequences bigint[], leaves bytea[], seals bytea[])
RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    k    integer := cardinality(leaves);
    base bigint;
    n    bigint;
    h    bytea;
    hs   bytea;
    lvl  integer;
    sib  bytea;
BEGIN
    UPDATE audit_log_head SET size = size + k WHERE id = 1 RETURNING size - k INTO base;
    IF base IS NULL THEN
        RAISE EXCEPTION 'audit_log_head has no row' USING ERRCODE = 'data_corrupted';
    END IF;
    FOR i IN 1..k LOOP
        n := base + i - 1;
        h := leaves[i];
        hs := h;
        lvl := 0;
        WHILE (n >> lvl) & 1 = 1 LOOP
            sib := NULL;
            SELECT substring(l.hashes FROM 32 * lvl + 1 FOR 32) INTO sib
              FROM audit_log l WHERE l.log_index = n - (1::bigint << lvl);
            IF sib IS NULL OR length(sib) <> 32 THEN
                RAISE EXCEPTION 'audit log entry % is missing or short', n - (1::bigint << lvl)
                    USING ERRCODE = 'data_corrupted';
            END IF;
            h := sha256('\x01'::bytea || sib || h);
            hs := hs || h;
            lvl := lvl + 1;
        END LOOP;
        INSERT INTO audit_log (log_index, kind, record_id, sequence, hashes, seal)
        VALUES (n, kinds[i], record_ids[i], sequences[i], hs, seals[i]);
    END LOOP;
    RETURN base;
END;
$$;
