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
//! What differs from `FULL`: from `COMMIT` to the end of that fsync a committed write can
//! be read before it is acknowledged, and a power cut inside that window can take it
//! (never acknowledged) away again.
//!
//! A failed fsync leaves it unknown what reached the disk, and a later fsync of the same
//! file may report success for pages the kernel has already dropped (Linux reports a
//! writeback error once). So the first failure is final: syncs run one at a time and each
//! checks for an earlier failure first, and from then on every write is refused until
//! guildgate is restarted.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct WalSync {
    wal: PathBuf,
    /// The WAL SQLite writes, opened once (after the store's migrations, so it exists), and
    /// its inode. Syncs run one at a time under this lock.
    file: Mutex<(File, u64)>,
    failed: AtomicBool,
}

/// The answer to a group whose fsync failed.
pub const SYNC_FAILED: &str = "the database's disk reported an error on fsync: whether this write was kept is unknown (check before retrying), and writes are refused until guildgate is restarted (check the disk and the server's log first)";

/// The answer to every write after that.
pub const DISK_FAILED: &str = "an earlier fsync of the database failed, so what reached the disk is unknown: writes are refused until guildgate is restarted (check the disk and the server's log first)";

impl WalSync {
    /// For the database file at `database`, whose WAL must exist.
    pub fn open(database: PathBuf) -> std::io::Result<Self> {
        let mut wal = database.into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let file = File::open(&wal)?;
        let inode = file.metadata()?.ino();
        Ok(WalSync {
            wal,
            file: Mutex::new((file, inode)),
            failed: AtomicBool::new(false),
        })
    }

    /// As if an fsync had just failed.
    #[cfg(test)]
    pub(super) fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }

    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Makes everything committed so far durable, on a blocking thread.
    pub async fn sync(self: &std::sync::Arc<Self>) -> Result<(), String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.sync_now())
            .await
            .unwrap_or_else(|join| Err(format!("the fsync did not finish: {join}")))
    }

    fn sync_now(&self) -> Result<(), String> {
        let file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if self.has_failed() {
            return Err(DISK_FAILED.into());
        }
        let (wal, inode) = &*file;
        // A WAL removed or replaced under the server is not the file SQLite writes to
        // through its own handle: syncing either would not make the writes durable.
        let synced = match std::fs::metadata(&self.wal) {
            Ok(now) if now.ino() == *inode => wal.sync_data(),
            Ok(_) => Err(std::io::Error::other("the WAL file was replaced")),
            Err(err) => Err(err),
        };
        synced.map_err(|err| {
            self.failed.store(true, Ordering::Release);
            tracing::error!(wal = %self.wal.display(), %err, "fsync of the WAL failed: refusing writes until restart");
            SYNC_FAILED.to_owned()
        })
    }
}
