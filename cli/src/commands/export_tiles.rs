//! `onemap export-tiles`: an offline package (PMTiles or MBTiles) of some layers, rendered
//! through the server's tile path, for a patrol station to carry where there is no signal.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use onemap_tile_server::export::{export, ExportRequest};

#[derive(Args)]
pub struct ExportTilesArgs {
    /// Layer ids, comma-separated; one MVT layer each in every tile.
    #[arg(long, value_delimiter = ',', required = true)]
    layers: Vec<String>,
    /// Survey year of the layers that have years (default: each layer's newest version).
    #[arg(long)]
    year: Option<i32>,
    /// West,south,east,north in degrees (default: the union of the layers' extents).
    #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
    bbox: Option<Vec<f64>>,
    /// Shallowest zoom.
    #[arg(long, default_value_t = 0)]
    minzoom: u8,
    /// Deepest zoom.
    #[arg(long)]
    maxzoom: u8,
    /// Tiles rendered at once (each holds a database connection).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The package to write: `NAME.pmtiles` or `NAME.mbtiles` (replaced if it exists).
    out: PathBuf,
}

pub async fn run(ctx: &super::Context, args: ExportTilesArgs) -> anyhow::Result<()> {
    let bbox = match args.bbox.as_deref() {
        None => None,
        Some(&[w, s, e, n]) => Some([w, s, e, n]),
        Some(other) => anyhow::bail!("--bbox takes west,south,east,north, not {other:?}"),
    };
    let request = ExportRequest {
        layers: args.layers,
        year: args.year,
        bbox,
        minzoom: args.minzoom,
        maxzoom: args.maxzoom,
        concurrency: args.concurrency,
    };
    let out = args.out;
    super::with_database(ctx, async |db| {
        let report = export(db.url(), &request, &out)
            .await
            .with_context(|| format!("exporting {}", out.display()))?;
        println!("zoom  rendered  tiles   KiB");
        for (z, rendered, tiles, bytes) in &report.zooms {
            println!("{z:>4}  {rendered:>8}  {tiles:>5}  {:>7.1}", *bytes as f64 / 1024.0);
        }
        println!(
            "{}: {} tiles ({} distinct, {} empty left out), {:.1} KiB of tiles, file {:.1} KiB, {:.1} s",
            out.display(),
            report.tiles,
            report.unique,
            report.rendered - report.tiles,
            report.tile_bytes as f64 / 1024.0,
            report.file_bytes as f64 / 1024.0,
            report.elapsed.as_secs_f64()
        );
        // Handing data out is audited, like every export of the server.
        let mut client = db.connect().await?;
        onemap_access::audit::record(
            &mut client,
            &onemap_access::Acting::operator(super::ingest::who_am_i()),
            "export.tiles",
            Some(&request.layers.join(",")),
            &serde_json::json!({
                "file": out.display().to_string(),
                "year": request.year,
                "bbox": request.bbox,
                "minzoom": request.minzoom,
                "maxzoom": request.maxzoom,
                "tiles": report.tiles,
                "file_bytes": report.file_bytes,
            }),
        )
        .await?;
        Ok(())
    })
    .await
}
