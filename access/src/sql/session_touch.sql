-- Marks session $1 (row id) as seen now.
UPDATE onemap.sessions SET last_seen_at = clock_timestamp() WHERE id = $1::bigint AND ended_at IS NULL
