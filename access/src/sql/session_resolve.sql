-- The session whose id digests to $1, its user, and whether it is still valid: not ended, its
-- user enabled, seen within the last $2 seconds (idle timeout) and created within the last $3
-- (absolute lifetime). `stale` says last_seen_at is worth refreshing (older than a minute);
-- `remaining_secs` how long until the absolute lifetime ends.
SELECT s.id AS session_id, s.csrf_sha256, u.id, u.name, u.department, u.role,
       (s.ended_at IS NULL AND NOT u.disabled
        AND s.last_seen_at > clock_timestamp() - make_interval(secs => $2::float8)
        AND s.created_at > clock_timestamp() - make_interval(secs => $3::float8)) AS valid,
       s.last_seen_at < clock_timestamp() - interval '1 minute' AS stale,
       extract(epoch FROM s.created_at + make_interval(secs => $3::float8) - clock_timestamp())::float8
           AS remaining_secs
FROM onemap.sessions s JOIN onemap.users u ON u.id = s.user_id
WHERE s.session_sha256 = $1::text
