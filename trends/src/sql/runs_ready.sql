-- Whether every unit a read needs is precomputed already: a run is recorded in the transaction
-- that wrote its figures, so a recorded run means its rows are all there. $1 kind, $2 the
-- (distinct) versions read, $3 from-version (NULL for areas), $4 zone version (NULL: the
-- whole extent).
SELECT count(*) = cardinality($2::bigint[]) AS ready
FROM onemap.trend_runs
WHERE kind = $1
  AND version_id = ANY($2::bigint[])
  AND from_version IS NOT DISTINCT FROM $3::bigint
  AND zone_version_id IS NOT DISTINCT FROM $4::bigint
