//! `tandem init`: the one command that writes a file itself, since before it there is no
//! person for a daemon to run as.

use std::os::unix::fs::PermissionsExt;
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
    std::fs::create_dir_all(home)?;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, config.to_toml())?;
    std::fs::rename(&tmp, &path)?;
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
