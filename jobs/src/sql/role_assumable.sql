-- Whether the role $1 exists and the login role may assume it (SET ROLE needs membership).
SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1::text AND pg_has_role(current_user, oid, 'MEMBER'))
