//! The one authorization point. Every read path asks [`can_read`] before it shows a layer, so
//! access control (a later issue) changes this module and nothing else. Until then every
//! layer is readable by everyone, as its `access_level` column says `public` by default.

use crate::catalog::Layer;

/// Who is asking. Only the anonymous public exists until users land.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Principal {
    #[default]
    Anonymous,
}

/// Whether `who` may see `layer` at all (catalog, style, TileJSON, tiles, features).
pub fn can_read(who: &Principal, layer: &Layer) -> bool {
    match who {
        // No users exist yet: the whole catalog is the public view.
        Principal::Anonymous => matches!(
            layer.access_level.as_str(),
            "public" | "internal" | "restricted"
        ),
    }
}
