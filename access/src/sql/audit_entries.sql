-- Entries in chain order, with time and details in the canonical text forms that were hashed.
SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
       actor, actor_department, actor_role, client_addr, action, target,
       details::text AS details, prev_hash, hash
FROM onemap.audit
WHERE seq > $1
ORDER BY seq
LIMIT $2
