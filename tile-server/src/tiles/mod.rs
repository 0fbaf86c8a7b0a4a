//! Vector tiles: one martin-core `PostgresSource` per catalog layer, running SQL generated from
//! the catalog (see `sql.rs`); generalised land use for low zooms (`generalise.rs`); a tile
//! cache keyed by layer version (`cache.rs`); and the TileJSON that describes each layer.

mod cache;
mod disk_cache;
mod generalise;
mod mosaic;
mod sources;
mod sql;
mod tilejson;

pub use cache::{CachedTile, DiskTierStats, TileCacheConfig};
pub(crate) use generalise::GENERALISED_MAX_ZOOM;
pub use sources::TileSources;
pub use tilejson::{composite_tilejson, layer_tilejson};
