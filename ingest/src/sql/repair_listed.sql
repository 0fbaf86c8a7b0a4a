-- repair.sql for the rows listed in $2 only: the client proved all the others valid (simple
-- single-ring polygons and points, see sink/derive.rs). A hash join, not `= ANY`, so a long
-- list costs one pass over the table.
WITH fixed AS (
    UPDATE {table} t SET geom = ST_CollectionExtract(ST_MakeValid(t.geom), $1), geom_3857 = NULL
    FROM (SELECT DISTINCT unnest($2::bigint[]) AS fid) l
    WHERE t.fid = l.fid AND NOT ST_IsValid(t.geom)
    RETURNING t.fid, ST_IsEmpty(t.geom) AS empty
)
SELECT fid, empty FROM fixed ORDER BY fid
