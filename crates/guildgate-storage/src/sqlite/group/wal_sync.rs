//! Durable commits without holding the connection for the disk.
//!
//! Under `synchronous=FULL`, SQLite fsyncs the WAL inside `COMMIT`, and every writer queued
//! for the one connection waits out the disk as well. `synchronous=NORMAL` writes the same
//! WAL frames without that fsync (it still syncs around checkpoints and when the WAL is
//! reused), so the group writer runs the connection that way and fsyncs the WAL itself,
//! after `COMMIT` and with the connection already handed to the next writers. A group's
//! writers are acknowledged only after a `fdatasync` that began after their `COMMIT`
//! returned: everything acknowledged is on disk, as under `FULL`.
//!
//! What differs from `FULL`: for the length of that fsync a committed write can be read
//! before it is acknowledged, and a power cut inside that window can take it (never
//! acknowledged) away again.
//!
//! A failed fsync leaves it unknown what reached the disk, and a later fsync may report
//! success for pages the kernel has already dropped; so, as PostgreSQL does, writes are
//! refused from then on until guildgate is restarted.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct WalSync {
    wal: PathBuf,
    /// The WAL, open for fsync, with its inode: reopened should the file be replaced.
    open: Mutex<Option<(File, u64)>>,
    failed: AtomicBool,
}

pub const DISK_FAILED: &str = "the database's disk reported an error on fsync, so what reached it is unknown: writes are refused until guildgate is restarted (check the disk and the server's log first)";

impl WalSync {
    /// For the database file at `database`.
    pub fn new(database: PathBuf) -> Self {
        let mut wal = database.into_os_string();
        wal.push("-wal");
        WalSync {
            wal: wal.into(),
            open: Mutex::new(None),
            failed: AtomicBool::new(false),
        }
    }

    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Makes everything committed so far durable, on a blocking thread.
    pub async fn sync(self: &std::sync::Arc<Self>) -> Result<(), String> {
        if self.has_failed() {
            return Err(DISK_FAILED.into());
        }
        let this = self.clone();
        let done = tokio::task::spawn_blocking(move || this.sync_now())
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join.to_string())));
        done.map_err(|err| {
            self.failed.store(true, Ordering::Release);
            tracing::error!(wal = %self.wal.display(), %err, "fsync of the WAL failed: refusing writes until restart");
            DISK_FAILED.to_owned()
        })
    }

    fn sync_now(&self) -> std::io::Result<()> {
        let inode = std::fs::metadata(&self.wal)?.ino();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.as_ref().is_none_or(|(_, known)| *known != inode) {
            *open = Some((File::open(&self.wal)?, inode));
        }
        let (file, _) = open.as_ref().expect("opened above");
        file.sync_data()
    }
}
