//! Agents' keys, kept in the user's data directory with owner-only
//! permissions. A key never leaves the machine that made it: the CLI signs
//! here and sends only signed transactions.

use std::path::PathBuf;

use anyhow::{Context, bail};
use stigmer_ledger::tx::{Keypair, hex, unhex};

/// `$STIGMER_HOME`, else `$XDG_DATA_HOME/stigmer`, else
/// `~/.local/share/stigmer`.
pub fn home() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("STIGMER_HOME") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME") {
        return Ok(PathBuf::from(dir).join("stigmer"));
    }
    let Some(home) = std::env::var_os("HOME") else {
        bail!("set STIGMER_HOME or HOME to say where keys are kept");
    };
    Ok(PathBuf::from(home).join(".local/share/stigmer"))
}

fn keys_dir() -> anyhow::Result<PathBuf> {
    Ok(home()?.join("keys"))
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("a key name is 1 to 64 letters, digits, '-' or '_'");
    }
    Ok(())
}

pub fn create(name: &str) -> anyhow::Result<Keypair> {
    check_name(name)?;
    let dir = keys_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{name}.key"));
    if path.exists() {
        bail!("a key named {name:?} exists already ({})", path.display());
    }
    let key = Keypair::generate()?;
    stigmer_node::run::write_private(&path, format!("{}\n", hex(&key.seed())).as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

pub fn load(name: &str) -> anyhow::Result<Keypair> {
    check_name(name)?;
    let path = keys_dir()?.join(format!("{name}.key"));
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("no key named {name:?} (make one with `stigmer key new {name}`)")
    })?;
    let seed = unhex::<32>(text.trim())
        .with_context(|| format!("{} does not hold a key", path.display()))?;
    Ok(Keypair::from_seed(seed))
}

/// Names of the stored keys, sorted.
pub fn list() -> anyhow::Result<Vec<String>> {
    let dir = keys_dir()?;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().to_string();
            name.strip_suffix(".key").map(str::to_string)
        })
        .collect();
    names.sort();
    Ok(names)
}
