// Package sqlrec holds the SQL text the SQL adapters (storage/sqlite and
// storage/postgres) share for the record core: the List query with every
// filter of record.Query, the expression indexes of declared attributes,
// and the statements over the shared tables whose text the two dialects
// agree on. What differs between the databases (placeholders, how
// instants, booleans and attribute values are encoded, the text filter,
// table names) sits behind the small Dialect interface; executing the
// statements stays with each adapter's own driver.
package sqlrec
