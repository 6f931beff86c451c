//! Reading and writing the home's `config.toml` (the type is `tandem_protocol::config`).

use tandem_protocol::config::Config;

use crate::home::{Home, HomeError, io_at, write_file_atomic};

/// Reads the home's config; a missing file means the home was never initialised.
pub fn load(home: &Home) -> Result<Config, HomeError> {
    let path = home.config();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(HomeError::NotInitialized(home.root().to_owned()));
        }
        Err(e) => return Err(io_at(&path)(e)),
    };
    Config::from_toml(&text).map_err(|reason| HomeError::BadConfig { path, reason })
}

/// Writes the config into the home.
pub fn save(home: &Home, config: &Config) -> Result<(), HomeError> {
    write_file_atomic(&home.config(), config.to_toml().as_bytes(), 0o600)
}
