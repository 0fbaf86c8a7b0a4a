INSERT INTO onemap.trend_runs (kind, version_id, from_version, zone_version_id, duration_ms, row_count)
VALUES ($1, $2, $3, $4, $5, $6)
