-- {table} is an escaped identifier and {id} our own bigint: no user text reaches this DDL.
-- While it is loaded and repaired, the partition computes geom_3857 and area_m2 for the rows
-- that arrive without them (see onemap.features_derive, migration V12); index_and_attach.sql
-- drops the trigger before the partition is published.
CREATE TABLE {table} (
    LIKE onemap.features INCLUDING DEFAULTS,
    CHECK (version_id = {id})
);
CREATE TRIGGER derive BEFORE INSERT OR UPDATE ON {table}
    FOR EACH ROW WHEN (NEW.geom_3857 IS NULL) EXECUTE FUNCTION onemap.features_derive();
