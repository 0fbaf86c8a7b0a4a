-- The parcels whose stated area differs most from the computed one, largest first.
WITH stated AS (
    SELECT fid, props->>'BSM' AS bsm, area_m2,
           CASE WHEN jsonb_typeof(props->'TBMJ') = 'number' THEN (props->>'TBMJ')::float8
                WHEN props->>'TBMJ' ~ '^\s*[-+]?[0-9]+(\.[0-9]*)?\s*$' THEN (props->>'TBMJ')::float8
           END AS tbmj
    FROM onemap.features
    WHERE version_id = $1
)
SELECT fid, bsm, tbmj, area_m2
FROM stated
WHERE abs(tbmj - area_m2) > $2 * area_m2
ORDER BY abs(tbmj - area_m2) / nullif(area_m2, 0) DESC NULLS FIRST, fid
LIMIT $3
