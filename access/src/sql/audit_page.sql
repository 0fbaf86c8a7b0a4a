-- Newest first, for the audit API.
SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
       actor, actor_department, actor_role, client_addr, action, target,
       details::text AS details, prev_hash, hash
FROM onemap.audit
ORDER BY seq DESC
LIMIT $1 OFFSET $2
