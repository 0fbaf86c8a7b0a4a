//! Onemap's database: the SQL migrations, the reference data (departments, themes, GB/T 21010
//! land classes), the read side of the layer catalog, and the private PostgreSQL cluster that
//! Onemap runs when no `DATABASE_URL` is given.

pub mod authz;
pub mod catalog;
pub mod cluster;
pub mod database;
mod error;
pub mod migrate;
pub mod reference;

pub use error::{SchemaError, SchemaResult};
