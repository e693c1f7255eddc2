//! Key files: the node's ed25519 attestation key and EVM transaction keys, kept owner-only (0600).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use alloy::primitives::FixedBytes;
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
    #[error(
        "{path}: key file is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not get randomness from the operating system: {0}")]
    Entropy(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates a new ed25519 key at `path` (mode 0600); fails if the file exists.
pub fn create_node_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Entropy(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    write_secret(path, &format!("{}\n", hex::encode(seed)))?;
    Ok(key)
}

/// Loads an ed25519 key file written by [`create_node_key`].
pub fn load_node_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let seed: [u8; 32] = read_secret_hex(path)?
        .try_into()
        .map_err(|bytes: Vec<u8>| KeyFileError::Malformed {
            path: path.to_owned(),
            reason: format!(
                "expected a 32-byte ed25519 seed in hex, found {} bytes",
                bytes.len()
            ),
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Loads a hex secp256k1 private key (with or without `0x`) for sending transactions.
pub fn load_evm_key(path: &Path) -> Result<PrivateKeySigner, KeyFileError> {
    let bytes = read_secret_hex(path)?;
    PrivateKeySigner::from_slice(&bytes).map_err(|e| KeyFileError::Malformed {
        path: path.to_owned(),
        reason: format!("not a secp256k1 private key: {e}"),
    })
}

/// Writes a secret file readable only by its owner; never overwrites.
pub fn write_secret(path: &Path, contents: &str) -> Result<(), KeyFileError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists {
                path: path.to_owned(),
            },
            _ => KeyFileError::Io {
                path: path.to_owned(),
                source,
            },
        })?;
    file.write_all(contents.as_bytes())
        .map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// The public key as the hub's `bytes32 nodeKey`.
pub fn node_key_id(key: &VerifyingKey) -> FixedBytes<32> {
    FixedBytes(key.to_bytes())
}

fn read_secret_hex(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let mode = fs::metadata(path)
        .map_err(io_error(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    let text = fs::read_to_string(path).map_err(io_error(path))?;
    let trimmed = text.trim();
    hex::decode(trimmed.strip_prefix("0x").unwrap_or(trimmed)).map_err(|e| {
        KeyFileError::Malformed {
            path: path.to_owned(),
            reason: format!("not hex: {e}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_key_round_trips_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let created = create_node_key(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_node_key(&path).unwrap().to_bytes(), created.to_bytes());
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let first = create_node_key(&path).unwrap();
        assert!(matches!(
            create_node_key(&path),
            Err(KeyFileError::Exists { .. })
        ));
        assert_eq!(load_node_key(&path).unwrap().to_bytes(), first.to_bytes());
    }

    #[test]
    fn rejects_group_or_world_readable_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        create_node_key(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = load_node_key(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::TooOpen { mode: 0o640, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn rejects_malformed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.key");
        write_secret(&short, "abcd\n").unwrap();
        assert!(matches!(
            load_node_key(&short),
            Err(KeyFileError::Malformed { .. })
        ));
        let junk = dir.path().join("junk.key");
        write_secret(&junk, "not hex at all").unwrap();
        assert!(matches!(
            load_evm_key(&junk),
            Err(KeyFileError::Malformed { .. })
        ));
    }

    #[test]
    fn loads_evm_keys_with_or_without_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let hex_key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let plain = dir.path().join("plain.key");
        write_secret(&plain, hex_key).unwrap();
        let prefixed = dir.path().join("prefixed.key");
        write_secret(&prefixed, &format!("0x{hex_key}\n")).unwrap();
        let expected: alloy::primitives::Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        assert_eq!(load_evm_key(&plain).unwrap().address(), expected);
        assert_eq!(load_evm_key(&prefixed).unwrap().address(), expected);
    }
}
