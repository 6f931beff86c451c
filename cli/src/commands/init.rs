//! `tandem init`: the one command that writes a file itself, since before it there is no
//! person for a daemon to run as.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use tandem_protocol::config::Config;
use tandem_protocol::ids::PersonId;
use tandem_protocol::paths::CONFIG_FILE;

use crate::args::InitArgs;
use crate::show::say;

/// Creates the data home and its config.
pub fn run(home: &Path, args: InitArgs, json: bool) -> anyhow::Result<()> {
    let path = home.join(CONFIG_FILE);
    if path.exists() {
        anyhow::bail!(
            "{} already exists: this home is set up (edit that file to change it)",
            path.display()
        );
    }
    let mut config = Config::new(&args.name, PersonId::from_random(rand::random()))?;
    if let Some(tz) = args.tz {
        jiff::tz::TimeZone::get(&tz).map_err(|e| anyhow::anyhow!("--tz {tz}: {e}"))?;
        config.time_zone = Some(tz);
    }
    config.api_port = args.api_port.unwrap_or(0);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(home)?;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
    crate::private_file::write(&path, config.to_toml().as_bytes())?;
    if json {
        crate::show::json(&config);
    } else {
        say!(
            "Hello {}! Your tandem lives in {}.",
            config.name,
            home.display()
        );
        say!("Start the daemon with: tandemd --home {}", home.display());
    }
    Ok(())
}
