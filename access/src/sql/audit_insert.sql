INSERT INTO onemap.audit
    (seq, at, actor, actor_department, actor_role, client_addr, action, target, details,
     prev_hash, hash)
VALUES ($1, $2::text::timestamptz, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11)
