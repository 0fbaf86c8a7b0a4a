//! The tile sources, one martin-core `PostgresSource` per layer, created when first asked for.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use martin_core::tiles::postgres::{PostgresPool, PostgresSource, PostgresSqlInfo};
use martin_core::tiles::{Source, UrlQuery};
use martin_core::CacheZoomRange;
use martin_tile_utils::{Encoding, Format, TileCoord, TileInfo};
use onemap_schemas::catalog::{Layer, LayerVersion};

use super::sql::tile_query;
use crate::error::ServerResult;

/// Holds the sources by layer key.
pub struct TileSources {
    pool: PostgresPool,
    sources: RwLock<HashMap<(i32, String), Arc<PostgresSource>>>,
}

impl TileSources {
    pub fn new(pool: PostgresPool) -> Self {
        Self {
            pool,
            sources: RwLock::default(),
        }
    }

    /// The tile of `version` of `layer` at `xyz`. The caller has authorized the layer.
    pub async fn tile(
        &self,
        layer: &Layer,
        version: &LayerVersion,
        xyz: TileCoord,
    ) -> ServerResult<Vec<u8>> {
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
