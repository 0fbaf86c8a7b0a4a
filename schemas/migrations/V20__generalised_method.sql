-- Which method built a version's low-zoom generalisation, so that a server with a better one
-- rebuilds it on first need instead of serving the old tiles (V6 built dissolved shapes).
ALTER TABLE onemap.generalised_versions ADD COLUMN method text NOT NULL DEFAULT 'dissolve';
