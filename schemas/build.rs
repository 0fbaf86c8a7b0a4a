//! The migrations are embedded at compile time (`refinery::embed_migrations!`), which cargo
//! does not see: without this, a new migration file is left out until something else in the
//! crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
