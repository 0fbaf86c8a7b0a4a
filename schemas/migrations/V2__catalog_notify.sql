-- Servers keep the catalog in memory and reload it when told: every change to the layers or
-- their versions notifies the 'onemap_catalog' channel (delivered at commit, so a listener
-- never hears of a version it cannot read yet).
CREATE FUNCTION onemap.notify_catalog() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_catalog', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER layers_changed AFTER INSERT OR UPDATE OR DELETE ON onemap.layers
    FOR EACH STATEMENT EXECUTE FUNCTION onemap.notify_catalog();
CREATE TRIGGER layer_versions_changed AFTER INSERT OR UPDATE OR DELETE ON onemap.layer_versions
    FOR EACH STATEMENT EXECUTE FUNCTION onemap.notify_catalog();
