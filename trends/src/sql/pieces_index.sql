CREATE INDEX ON pg_temp.trend_pieces USING gist (geom);
CREATE INDEX ON pg_temp.trend_pieces (from_fid);
ANALYZE pg_temp.trend_pieces
