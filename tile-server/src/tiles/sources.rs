//! Where tiles come from: one martin-core `PostgresSource` per layer for tiles drawn from the
//! features, the generalised tables for low-zoom land use, and the version-keyed cache in
//! front of both. Composite tiles are the per-layer tiles concatenated (an MVT is a sequence of
//! layer messages, so concatenated tiles are one valid tile).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use martin_core::tiles::postgres::{PostgresPool, PostgresSource, PostgresSqlInfo};
use martin_core::tiles::{Source, UrlQuery};
use martin_core::CacheZoomRange;
use martin_tile_utils::{Encoding, Format, TileCoord, TileInfo};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::{Catalog, Layer, LayerVersion};

use super::cache::{
    CachedTile, DiskTierStats, MemoryTierStats, TileCache, TileCacheConfig, TileKey,
};
use super::generalise::{
    Generaliser, GENERALISED_MAX_ZOOM, GENERALISE_MIN_FEATURES, SLIM_MAX_ZOOM,
};
use super::sql::{generalised_query, slim_query, tile_query};
use crate::error::ServerResult;

/// Holds the sources by layer key, the cache and the generaliser.
pub struct TileSources {
    pool: PostgresPool,
    /// For the generalisation, which writes (the read pool may not).
    writer: PostgresPool,
    sources: RwLock<HashMap<(i32, String), Arc<PostgresSource>>>,
    cache: TileCache,
    generaliser: Arc<Generaliser>,
    generalised_sql: String,
    slim_sql: String,
}

impl TileSources {
    /// Sources over `pool` with a cache as `cache` says (a number: MiB in memory, 0: no
    /// cache); the generalisation is written through `writer`.
    pub fn new(
        pool: PostgresPool,
        writer: PostgresPool,
        cache: impl Into<TileCacheConfig>,
    ) -> Self {
        Self {
            pool,
            writer,
            sources: RwLock::default(),
            cache: TileCache::new(cache),
            generaliser: Arc::default(),
            generalised_sql: generalised_query(),
            slim_sql: slim_query(),
        }
    }

    /// The tile at `xyz` of the given layer versions, one MVT layer each, in order. The caller
    /// has authorized every layer: this must only ever be reached after `catalog.layer(who, ..)`.
    pub async fn tile(
        &self,
        layers: &[(&Layer, &LayerVersion)],
        xyz: TileCoord,
    ) -> ServerResult<Arc<CachedTile>> {
        let key = TileKey {
            versions: layers.iter().map(|(_, v)| v.id).collect(),
            z: xyz.z,
            x: xyz.x,
            y: xyz.y,
        };
        let load = async {
            let raw = match layers {
                [(layer, version)] => self.layer_tile(layer, version, xyz).await?,
                _ => {
                    let mut raw = Vec::new();
                    for &(layer, version) in layers {
                        let one = Box::pin(self.tile(&[(layer, version)], xyz)).await?;
                        raw.extend_from_slice(&one.raw()?);
                    }
                    raw
                }
            };
            Ok(Arc::new(CachedTile::new(&key, &raw)?))
        };
        self.cache.get_or_load(key.clone(), load).await
    }

    /// Removes the cached tiles of versions `catalog` no longer serves (from the disk tier).
    pub async fn forget_superseded(&self, catalog: &Catalog) {
        self.cache.forget_superseded(catalog).await;
    }

    /// What the tile cache's memory tier holds and did since start.
    pub async fn memory_cache_stats(&self) -> MemoryTierStats {
        self.cache.memory_stats().await
    }

    /// What the tile cache's disk tier did since start; none without one.
    pub fn disk_cache_stats(&self) -> Option<DiskTierStats> {
        self.cache.disk_stats()
    }

    /// The newest version of every land-use layer big enough to be generalised.
    fn newest_land_use(catalog: &Catalog) -> Vec<(i64, String)> {
        catalog
            .visible(&Principal::Operator("tile warm-up".into()))
            .filter(|l| l.geometry_type == "polygon")
            .filter_map(|l| Some((l.class_field.clone()?, l.version(None)?)))
            .filter(|(_, v)| v.feature_count >= GENERALISE_MIN_FEATURES)
            .map(|(field, v)| (v.id, field))
            .collect()
    }

    /// Starts building the generalisation of each land-use layer's newest version.
    pub fn prepare_newest(&self, catalog: &Catalog) {
        for (version_id, field) in Self::newest_land_use(catalog) {
            self.generaliser.prepare(&self.writer, version_id, &field);
        }
    }

    /// Builds the generalisation of each land-use layer's newest version and waits for it.
    pub async fn ensure_newest(&self, catalog: &Catalog) -> ServerResult<()> {
        for (version_id, field) in Self::newest_land_use(catalog) {
            self.generaliser
                .ensure(&self.writer, version_id, &field)
                .await?;
        }
        Ok(())
    }

    /// One layer's tile, uncompressed, from the database.
    async fn layer_tile(
        &self,
        layer: &Layer,
        version: &LayerVersion,
        xyz: TileCoord,
    ) -> ServerResult<Vec<u8>> {
        if let Some(field) = layer
            .class_field
            .as_deref()
            .filter(|_| layer.geometry_type == "polygon")
            .filter(|_| version.feature_count >= GENERALISE_MIN_FEATURES)
        {
            if xyz.z <= GENERALISED_MAX_ZOOM {
                self.generaliser
                    .ensure(&self.writer, version.id, field)
                    .await?;
                return self
                    .land_use_tile(&self.generalised_sql, layer, version, field, xyz)
                    .await;
            }
            self.generaliser.prepare(&self.writer, version.id, field);
            if xyz.z <= SLIM_MAX_ZOOM {
                return self
                    .land_use_tile(&self.slim_sql, layer, version, field, xyz)
                    .await;
            }
        }
        let source = self.source(layer);
        // Quoted so that martin-core's JSON parsing of query values keeps the id a string.
        let query = UrlQuery::from([
            (
                "layer".to_owned(),
                serde_json::to_string(&layer.id).unwrap_or_default(),
            ),
            ("version".to_owned(), version.id.to_string()),
        ]);
        Ok(source.get_tile(xyz, Some(&query)).await?)
    }

    /// A land-use tile from `sql` (the generalised or the slim query, which take the same
    /// parameters), prepared once per connection.
    async fn land_use_tile(
        &self,
        sql: &str,
        layer: &Layer,
        version: &LayerVersion,
        class_field: &str,
        xyz: TileCoord,
    ) -> ServerResult<Vec<u8>> {
        let conn = self.pool.get().await?;
        let statement = conn.prepare_cached(sql).await?;
        let row = conn
            .query_one(
                &statement,
                &[
                    &i32::from(xyz.z),
                    // z ≤ 24, so x and y fit an int4.
                    &i32::try_from(xyz.x).unwrap_or(i32::MAX),
                    &i32::try_from(xyz.y).unwrap_or(i32::MAX),
                    &version.id,
                    &layer.id,
                    &class_field,
                ],
            )
            .await?;
        Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
    }

    fn source(&self, layer: &Layer) -> Arc<PostgresSource> {
        let key = (layer.key, layer.geometry_type.clone());
        if let Some(s) = self
            .sources
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return s.clone();
        }
        let sql = tile_query(&layer.geometry_type);
        let info = PostgresSqlInfo::new(sql, true, format!("onemap layer {}", layer.id));
        let source = Arc::new(PostgresSource::new(
            layer.id.clone(),
            info,
            tilejson::tilejson! { tiles: vec![] },
            self.pool.clone(),
            TileInfo::new(Format::Mvt, Encoding::Uncompressed),
            CacheZoomRange::default(),
        ));
        self.sources
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, source.clone());
        source
    }
}
