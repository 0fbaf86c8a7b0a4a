-- Ingest speed (issue 3, item 9): the Web-Mercator copy and the geodesic area of each feature
-- stop being generated columns, which the server computed row after row during the COPY on a
-- single core. Writers now supply them: ingest computes both in the client, on worker threads,
-- for geographic coordinates (EPSG:4326 and 4490), and leaves them NULL otherwise, for the
-- trigger below to compute with exactly the expressions of V1. Existing values are kept.
ALTER TABLE onemap.features ALTER COLUMN geom_3857 DROP EXPRESSION;
ALTER TABLE onemap.features ALTER COLUMN area_m2 DROP EXPRESSION;

-- The definition of both columns (V1's generated expressions, unchanged). Ingest puts it on
-- each fresh partition while it is loaded and repaired, as
--   BEFORE INSERT OR UPDATE ... FOR EACH ROW WHEN (NEW.geom_3857 IS NULL)
-- so a row written without them, or updated with geom_3857 set to NULL, gets them here, and
-- drops it before attaching the partition.
CREATE FUNCTION onemap.features_derive() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom_3857 := ST_Transform(
        ST_ClipByBox2D(
            CASE WHEN ST_SRID(NEW.geom) = 4326 THEN NEW.geom ELSE ST_Transform(NEW.geom, 4326) END,
            ST_MakeEnvelope(-180, -85.0511287798, 180, 85.0511287798, 4326)),
        3857);
    NEW.area_m2 := CASE WHEN ST_Dimension(NEW.geom) = 2 THEN
        ST_Area(geography(CASE WHEN ST_SRID(NEW.geom) = 4326 THEN NEW.geom
                               ELSE ST_Transform(NEW.geom, 4326) END))
    END;
    RETURN NEW;
END
$$;
