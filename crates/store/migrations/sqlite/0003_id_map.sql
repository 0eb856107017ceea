-- The (collection, id, version) index is replaced by an in-memory map (src/sql/ids.rs): with
-- random UUIDs it dirtied a page per object and cut ingest to a third at a million objects.
DROP INDEX objects_by_version;
