-- PostgreSQL keeps its (collection, id, version) index: concurrent writers commit out of pk
-- order, which the in-memory id map that replaces it on SQLite could not follow.
SELECT 1;
