-- {table} is an escaped identifier and {id} our own bigint: no user text reaches this DDL.
CREATE TABLE {table} (
    LIKE onemap.features INCLUDING GENERATED INCLUDING DEFAULTS,
    CHECK (version_id = {id})
)
