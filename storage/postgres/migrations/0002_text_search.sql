-- Trigram index for List's Text filter (number, title or description
-- containing a string, ignoring case, which List runs as ILIKE).
--
-- It needs the pg_trgm extension. When pg_trgm is installed already, the
-- index uses it wherever it lives; otherwise this migration tries to
-- install it into the public schema. When that is not possible (the
-- extension is not available, or the role may not create it) the migration
-- still succeeds without the index, and Text searches scan the incidents
-- instead; running a later migration does not retry.
DO $$
DECLARE
    ext_schema text;
BEGIN
    -- Serialise extension installation between stores of different
    -- schemas migrating at once (the key is fixed, not per schema).
    PERFORM pg_advisory_xact_lock(7308190511425631337);
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
            ext_schema := 'public';
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'itsmkit: pg_trgm unavailable (%), text search will scan', SQLERRM;
            RETURN;
        END;
    END IF;
    EXECUTE format(
        'CREATE INDEX incidents_text_trgm_idx ON incidents USING gin '
        '(number %1$I.gin_trgm_ops, title %1$I.gin_trgm_ops, description %1$I.gin_trgm_ops)',
        ext_schema);
END;
$$;
