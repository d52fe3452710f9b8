//! The credential `guildgate mcp pair` stores and `guildgate mcp` reads: one JSON file,
//! readable and writable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// File name inside the config directory.
pub const CREDENTIAL_FILE: &str = "mcp.json";

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Credential {
    pub base_url: String,
    pub guild_id: String,
    pub token: String,
    pub token_id: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("base_url", &self.base_url)
            .field("guild_id", &self.guild_id)
            .field("token", &"<redacted>")
            .field("token_id", &self.token_id)
            .finish()
    }
}

fn non_empty(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$GUILDGATE_CONFIG_DIR/mcp.json`, else `$XDG_CONFIG_HOME/guildgate/mcp.json`, else
/// `~/.config/guildgate/mcp.json`.
pub fn default_path() -> Result<PathBuf, Error> {
    if let Some(dir) = non_empty("GUILDGATE_CONFIG_DIR") {
        return Ok(dir.join(CREDENTIAL_FILE));
    }
    if let Some(dir) = non_empty("XDG_CONFIG_HOME") {
        return Ok(dir.join("guildgate").join(CREDENTIAL_FILE));
    }
    let home = non_empty("HOME").ok_or_else(|| {
        Error::Config(
            "no config directory: set GUILDGATE_CONFIG_DIR, XDG_CONFIG_HOME or HOME".into(),
        )
    })?;
    Ok(home.join(".config").join("guildgate").join(CREDENTIAL_FILE))
}

/// Reads the credential at `path`; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Credential>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::Config(format!(
            "{} is not a guildgate credential: {e}",
            path.display()
        ))
    })
}

/// Writes `credential` to `path` with mode 0600 (its directory 0700 when created), through
/// a temporary file in the same directory so a reader never sees half a file.
pub fn save(path: &Path, credential: &Credential) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |what: &str, e| Error::Io(format!("{what} {}", dir.display()), e);
    create_private_dir(dir).map_err(|e| io("creating", e))?;
    let tmp = dir.join(format!(".{CREDENTIAL_FILE}.{}.tmp", std::process::id()));
    let mut json = serde_json::to_vec_pretty(credential)
        .map_err(|e| Error::Config(format!("serialising the credential: {e}")))?;
    json.push(b'\n');
    let written = (|| {
        let _ = std::fs::remove_file(&tmp);
        let mut file = private_file(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| Error::Io(format!("writing {}", path.display()), e))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_credentials_are_owner_only_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(CREDENTIAL_FILE);
        let credential = Credential {
            base_url: "http://127.0.0.1:1".into(),
            guild_id: "100000000000000000".into(),
            token: "arkpat_secret".into(),
            token_id: "01HZZZZZZZZZZZZZZZZZZZZZZZ".into(),
        };
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &credential).unwrap();
        save(&path, &credential).unwrap();
        assert_eq!(load(&path).unwrap(), Some(credential.clone()));
        assert!(!format!("{credential:?}").contains("secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
