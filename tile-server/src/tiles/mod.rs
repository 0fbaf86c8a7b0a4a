//! Vector tiles: one martin-core `PostgresSource` per catalog layer, running SQL generated from
//! the catalog (see `sql.rs`), and the TileJSON that describes each layer.

mod sources;
mod sql;
mod tilejson;

pub use sources::TileSources;
pub use tilejson::layer_tilejson;
