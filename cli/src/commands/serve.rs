//! `onemap serve`: binds, prints the URL once ready, serves until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use onemap_schemas::database::Database;
use onemap_tile_server::{AppState, ServerConfig};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the viewer (index.html, src/, node_modules/maplibre-gl).
    #[arg(long, env = "ONEMAP_VIEWER_DIR")]
    pub viewer_dir: Option<PathBuf>,
    /// Database connections in the server's pool.
    #[arg(long, default_value_t = 16)]
    pub pool_size: usize,
    /// MiB of memory for the tile cache (gzip-compressed tiles, keyed by layer version); 0 turns it off.
    #[arg(long, default_value_t = 256)]
    pub tile_cache_mb: u64,
    /// Folder of the on-disk tile cache tier (created if missing): tiles missed in memory are
    /// looked up there before the database, and it survives restarts. None: no disk tier.
    #[arg(long, env = "ONEMAP_TILE_CACHE_DIR")]
    pub tile_cache_dir: Option<PathBuf>,
    /// MiB of disk the tile files may take, in whole 4 KiB blocks (least recently used
    /// deleted beyond it).
    #[arg(
        long,
        env = "ONEMAP_TILE_CACHE_DISK_MB",
        default_value_t = onemap_tile_server::TileCacheConfig::DEFAULT_DISK_MB
    )]
    pub tile_cache_disk_mb: u64,
    /// Folder for files uploaded through `POST /api/layers/{id}/versions` (default: the data
    /// folder's `uploads/`).
    #[arg(long, env = "ONEMAP_UPLOADS_DIR")]
    pub uploads_dir: Option<PathBuf>,
    /// The largest upload accepted, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub upload_limit_mb: u64,
    /// Mark the session cookies Secure on every response (behind a TLS proxy that does not
    /// send `X-Forwarded-Proto: https`; with that header they are Secure anyway).
    #[arg(long, env = "ONEMAP_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed, as
    /// `CIDR[,CIDR]` (e.g. `127.0.0.1,10.0.0.0/8`): the login limit and the audit trail then
    /// use the right-most forwarded address that is not one of them. Default none: the
    /// socket's peer address.
    #[arg(long, env = "ONEMAP_TRUSTED_PROXY", value_parser = onemap_tile_server::TrustedProxies::parse)]
    pub trusted_proxy: Option<onemap_tile_server::TrustedProxies>,
    /// Listen at once, without first building the low-zoom land-use tiles of each land-use
    /// layer's newest version (they are then built when first asked for): for benchmarks of
    /// other routes on big databases, where that build takes minutes.
    #[arg(long)]
    pub no_warm_up: bool,
}

pub async fn run(ctx: &super::Context, mut args: ServeArgs) -> anyhow::Result<()> {
    args.uploads_dir
        .get_or_insert_with(|| ctx.data_dir.join("uploads"));
    super::with_database(ctx, async |db| serve(db, &args).await).await
}

/// Serves the database `db` until a shutdown signal.
pub async fn serve(db: &Database, args: &ServeArgs) -> anyhow::Result<()> {
    let viewer_dir = args
        .viewer_dir
        .clone()
        .unwrap_or_else(ServerConfig::default_viewer_dir);
    if !viewer_dir.join("node_modules/maplibre-gl/dist").exists() {
        tracing::warn!(
            "the viewer's MapLibre is not installed in {}: run `npm ci` there",
            viewer_dir.display()
        );
    }
    let config = ServerConfig {
        database_url: db.url().to_owned(),
        viewer_dir,
        pool_size: args.pool_size,
        tile_cache_mb: args.tile_cache_mb,
    };
    if let Some(dir) = &args.tile_cache_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the tile cache folder {}", dir.display()))?;
    }
    let tile_cache = onemap_tile_server::TileCacheConfig {
        memory_mb: args.tile_cache_mb,
        disk_dir: args.tile_cache_dir.clone(),
        disk_max_bytes: args.tile_cache_disk_mb.saturating_mul(1 << 20),
    };
    let state = AppState::with_tile_cache(&config, tile_cache)
        .await
        .context("starting the server")?;
    let mut uploads = onemap_tile_server::UploadConfig {
        max_bytes: args.upload_limit_mb << 20,
        ..onemap_tile_server::UploadConfig::default()
    };
    if let Some(dir) = &args.uploads_dir {
        uploads.dir.clone_from(dir);
    }
    let state = state.with_uploads(uploads);
    let state = state.with_sessions(onemap_tile_server::SessionConfig {
        secure_cookies: args.secure_cookies,
        trusted_proxies: args.trusted_proxy.clone().unwrap_or_default(),
        ..onemap_tile_server::SessionConfig::default()
    });
    // The first view of the county is drawn from the low-zoom land use: build it before we
    // say we are ready (once per version; it is kept in the database).
    let warming = std::time::Instant::now();
    if !args.no_warm_up {
        state
            .warm_up()
            .await
            .context("preparing the low-zoom land-use tiles")?;
    }
    if warming.elapsed().as_secs_f64() > 1.0 {
        println!(
            "low-zoom land-use tiles prepared in {:.1} s",
            warming.elapsed().as_secs_f64()
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // One ingest worker runs inside the server, for the uploads it receives. It publishes
    // as onemap_writer (`onemap_jobs::WORKER_ROLE`).
    let jobs = onemap_jobs::worker_pool(db.url())
        .await
        .context("connecting the ingest worker")?;
    let worker = tokio::spawn(onemap_jobs::run_worker(jobs, super::shutdown_signal()));
    println!("Onemap is ready at http://{addr}/");
    onemap_tile_server::serve(listener, state, super::shutdown_signal())
        .await
        .context("serving")?;
    worker.abort();
    eprintln!("Onemap stopped");
    Ok(())
}
