-- feature_count and bbox are filled in once the rows are loaded, in the same transaction.
INSERT INTO onemap.layer_versions
    (layer_key, year, label, feature_count, srid, source_file, source_sha256, ingested_by)
VALUES ($1, $2, $3, 0, $4, $5, $6, $7)
RETURNING id
