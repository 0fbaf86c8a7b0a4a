//! A private PostgreSQL + PostGIS cluster under a data folder Onemap owns, for users who have no
//! database of their own. It uses Debian's `postgresql-15` binaries, listens on a free loopback
//! port with a password known only to the folder's owner, and is shared by every `onemap`
//! process that points at the same folder: the process that started it stops it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{SchemaError, SchemaResult};

/// Where Debian installs PostgreSQL 15 and the PostGIS extension.
const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
const POSTGIS_CONTROL: &str = "/usr/share/postgresql/15/extension/postgis.control";
/// PostgreSQL refuses to run as root; a root user's cluster runs as this OS user.
const SERVICE_USER: &str = "postgres";
const SUPERUSER: &str = "onemap";
pub const DATABASE: &str = "onemap";

/// A running private cluster.
#[derive(Debug)]
pub struct PrivateCluster {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    password: String,
    started_here: bool,
}

impl PrivateCluster {
    /// Creates the cluster if the folder has none, and starts it unless it already runs.
    pub fn ensure_running(data_dir: &Path) -> SchemaResult<Self> {
        let bin_dir = std::env::var_os("ONEMAP_PG_BIN_DIR")
            .map_or_else(|| PathBuf::from(DEFAULT_BIN_DIR), PathBuf::from);
        for needed in [
            bin_dir.join("initdb"),
            bin_dir.join("pg_ctl"),
            POSTGIS_CONTROL.into(),
        ] {
            if !needed.exists() {
                return Err(SchemaError::PostgisMissing { missing: needed });
            }
        }
        fs::create_dir_all(data_dir).map_err(SchemaError::io(data_dir))?;
        let data_dir = data_dir.canonicalize().map_err(SchemaError::io(data_dir))?;
        // One process at a time creates or starts the cluster.
        let lock_path = data_dir.join("cluster.lock");
        let lock = File::create(&lock_path).map_err(SchemaError::io(&lock_path))?;
        lock.lock().map_err(SchemaError::io(&lock_path))?;

        let mut cluster = Self {
            bin_dir,
            port: 0,
            password: String::new(),
            started_here: false,
            data_dir,
        };
        if !cluster.pgdata().join("PG_VERSION").exists() {
            cluster.init()?;
        }
        cluster.password = read_trimmed(&cluster.password_file())?;
        if cluster.is_running() {
            cluster.port = read_trimmed(&cluster.port_file())?
                .parse()
                .map_err(|_| cluster.fail("read its port", "the port file is not a number"))?;
        } else {
            cluster.start()?;
        }
        drop(lock);
        Ok(cluster)
    }

    /// The connection string of the cluster's `onemap` database.
    pub fn connection_string(&self) -> String {
        self.connection_string_for(DATABASE)
    }

    /// The connection string of any database in the cluster.
    pub fn connection_string_for(&self, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={SUPERUSER} password={} dbname={database} sslmode=disable",
            self.port, self.password
        )
    }

    /// The TCP port it listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this process started it (and so should stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Stops the cluster if this process started it; leaves it running for its starter otherwise.
    pub fn stop_if_started_here(&self) -> SchemaResult<()> {
        if self.started_here {
            self.stop()
        } else {
            Ok(())
        }
    }

    /// Stops the cluster (fast shutdown: open sessions are rolled back, data is flushed).
    pub fn stop(&self) -> SchemaResult<()> {
        if !self.is_running() {
            return Ok(());
        }
        let out = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"])?;
        if !out.status.success() {
            return Err(self.fail("stop", &String::from_utf8_lossy(&out.stderr)));
        }
        let _ = fs::remove_file(self.port_file());
        Ok(())
    }

    /// Whether a postmaster runs on the folder.
    pub fn is_running(&self) -> bool {
        self.pg_ctl(&["status"])
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn pgdata(&self) -> PathBuf {
        self.data_dir.join("pgdata")
    }
    fn password_file(&self) -> PathBuf {
        self.data_dir.join("password")
    }
    fn port_file(&self) -> PathBuf {
        self.data_dir.join("port")
    }
    fn log_file(&self) -> PathBuf {
        self.data_dir.join("postgres.log")
    }

    fn init(&self) -> SchemaResult<()> {
        let password = random_hex(24)?;
        let pgdata = self.pgdata();
        // initdb reads the password from a file the service user can read; it is removed after.
        let pwfile = self.data_dir.join("initdb.pw");
        write_private(&pwfile, &password)?;
        if is_root() {
            chown_to_service_user(&self.data_dir, &pwfile)?;
        }
        let out = self.run_pg(
            "initdb",
            &[
                "-D".as_ref(),
                pgdata.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--auth=scram-sha-256".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C.UTF-8".as_ref(),
            ],
        );
        let _ = fs::remove_file(&pwfile);
        let out = out?;
        if !out.status.success() {
            return Err(self.fail("initialise", &String::from_utf8_lossy(&out.stderr)));
        }
        let conf = pgdata.join("postgresql.conf");
        let mut f = OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(SchemaError::io(&conf))?;
        // Loopback TCP only: no Unix socket, so nothing collides with a system PostgreSQL.
        f.write_all(
            b"\n# Onemap private cluster\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 100\nauthentication_timeout = 10s\nshared_buffers = 256MB\nmaintenance_work_mem = 256MB\nwork_mem = 32MB\nmax_wal_size = 2GB\n",
        )
        .map_err(SchemaError::io(&conf))?;
        write_private(&self.password_file(), &password)?;
        Ok(())
    }

    fn start(&mut self) -> SchemaResult<()> {
        let port = free_port().map_err(SchemaError::io("127.0.0.1"))?;
        let log = self.log_file();
        if is_root() && !log.exists() {
            File::create(&log).map_err(SchemaError::io(&log))?;
            chown_to_service_user(&self.data_dir, &log)?;
        }
        let opts = format!("-p {port}");
        let out = self.pg_ctl(&[
            "start",
            "-w",
            "-t",
            "60",
            "-o",
            &opts,
            "-l",
            &log.to_string_lossy(),
        ])?;
        if !out.status.success() {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            let tail: String = tail.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(self.fail(
                "start",
                &format!("{} {tail}", String::from_utf8_lossy(&out.stderr).trim()),
            ));
        }
        write_private(&self.port_file(), &port.to_string())?;
        self.port = port;
        self.started_here = true;
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> SchemaResult<Output> {
        let pgdata = self.pgdata();
        let mut all: Vec<&std::ffi::OsStr> = vec!["-D".as_ref(), pgdata.as_os_str()];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        self.run_pg("pg_ctl", &all)
    }

    fn run_pg(&self, program: &str, args: &[&std::ffi::OsStr]) -> SchemaResult<Output> {
        let path = self.bin_dir.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.arg("-u").arg(SERVICE_USER).arg("--").arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .current_dir(&self.data_dir)
            .output()
            .map_err(SchemaError::io(path))
    }

    fn fail(&self, action: &'static str, detail: &str) -> SchemaError {
        SchemaError::Cluster {
            data_dir: self.data_dir.clone(),
            action,
            detail: detail.trim().to_owned(),
        }
    }
}

/// Whether this process runs as root (whose cluster must run as the postgres user).
pub fn is_root() -> bool {
    // SAFETY-free check: the effective uid is in /proc; root's is 0.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The data folder and the given file go to the service user, which must own `pgdata`.
fn chown_to_service_user(data_dir: &Path, file: &Path) -> SchemaResult<()> {
    for path in [data_dir, file] {
        let status = Command::new("chown")
            .arg(SERVICE_USER)
            .arg(path)
            .status()
            .map_err(SchemaError::io("chown"))?;
        if !status.success() {
            return Err(SchemaError::Cluster {
                data_dir: data_dir.to_owned(),
                action: "hand its folder to the postgres user",
                detail: format!("chown {SERVICE_USER} {} failed", path.display()),
            });
        }
    }
    Ok(())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn random_hex(bytes: usize) -> SchemaResult<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(SchemaError::io("/dev/urandom"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn write_private(path: &Path, content: &str) -> SchemaResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(SchemaError::io(path))?;
    f.write_all(content.as_bytes())
        .map_err(SchemaError::io(path))
}

fn read_trimmed(path: &Path) -> SchemaResult<String> {
    Ok(fs::read_to_string(path)
        .map_err(SchemaError::io(path))?
        .trim()
        .to_owned())
}
