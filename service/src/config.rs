//! `gst-replay serve`'s settings: command-line flags over a TOML file (`--config`) over the
//! embedded defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8480";
pub const DEFAULT_DATA_DIR: &str = "./gst-replay-data";
/// Saves accepted but not finished that the service holds before it answers 503.
pub const DEFAULT_SAVE_QUEUE: usize = 256;

/// The flags of `gst-replay serve` (the launcher flattens them into its command line).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free one (the JSON line on stdout says
    /// which) [default: 127.0.0.1:8480]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Where clips (replays/), the job database and events.jsonl are kept
    /// [default: ./gst-replay-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Every /api route then needs `Authorization: Bearer TOKEN`; also the key of the
    /// webhooks' X-Replay-Signature
    #[arg(long, env = "GST_REPLAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// POST every ReplayCreated event to this URL too (repeatable)
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// Most sessions held at once [default: no limit but the memory budget]
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<usize>,
    /// Most bytes the sessions' rings may hold together: the sum of their maxBytes
    /// (e.g. 8GiB) [default: half of physical RAM]
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    pub memory_budget: Option<u64>,
    /// Most saves accepted but not finished; more get 503 with Retry-After [default: 256]
    #[arg(long, value_name = "N")]
    pub save_queue: Option<usize>,
    /// A TOML file with any of these settings (kebab-case keys, `webhook` an array); flags
    /// given on the command line win
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The TOML file: the same settings as the flags.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    token: Option<String>,
    #[serde(default)]
    webhook: Vec<String>,
    max_sessions: Option<usize>,
    memory_budget: Option<Bytes>,
    save_queue: Option<usize>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Bytes {
    Number(u64),
    Text(String),
}

/// The settings the service runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub token: Option<String>,
    pub webhooks: Vec<reqwest::Url>,
    pub max_sessions: Option<usize>,
    pub memory_budget: u64,
    pub save_queue: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("--listen {0} is not ADDR:PORT (for example 127.0.0.1:8480, or 0.0.0.0:0 for any free port)")]
    Listen(String),
    #[error("--webhook {url} is not an http(s) URL: {reason}")]
    Webhook { url: String, reason: String },
    #[error("memory-budget {0}")]
    Bytes(String),
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("--token is empty: give a token, or leave the flag out to run without one")]
    EmptyToken,
}

impl ServeArgs {
    /// Flags over the config file over the defaults.
    pub fn resolve(&self) -> Result<ServeConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => read_config_file(path)?,
            None => ConfigFile::default(),
        };
        let listen_text = self
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text
            .parse()
            .map_err(|_| ConfigError::Listen(listen_text.clone()))?;
        let webhook_texts = if self.webhooks.is_empty() {
            file.webhook
        } else {
            self.webhooks.clone()
        };
        let webhooks = webhook_texts
            .iter()
            .map(|url| parse_webhook(url))
            .collect::<Result<_, _>>()?;
        let memory_budget = match (self.memory_budget, file.memory_budget) {
            (Some(bytes), _) => bytes,
            (None, Some(Bytes::Number(bytes))) => bytes,
            (None, Some(Bytes::Text(text))) => parse_bytes(&text).map_err(ConfigError::Bytes)?,
            (None, None) => half_of_physical_memory(),
        };
        let token = self.token.clone().or(file.token);
        if token.as_deref() == Some("") {
            return Err(ConfigError::EmptyToken);
        }
        let max_sessions = self.max_sessions.or(file.max_sessions);
        if max_sessions == Some(0) {
            return Err(ConfigError::Zero("max-sessions"));
        }
        let save_queue = self
            .save_queue
            .or(file.save_queue)
            .unwrap_or(DEFAULT_SAVE_QUEUE);
        if save_queue == 0 {
            return Err(ConfigError::Zero("save-queue"));
        }
        Ok(ServeConfig {
            listen,
            data_dir: self
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            token,
            webhooks,
            max_sessions,
            memory_budget,
            save_queue,
        })
    }
}

fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|err| ConfigError::Parse {
        path: path.to_owned(),
        message: err.message().to_owned(),
    })
}

fn parse_webhook(text: &str) -> Result<reqwest::Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Webhook {
        url: text.to_owned(),
        reason,
    };
    let url = reqwest::Url::parse(text).map_err(|err| invalid(err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("the scheme is {}", url.scheme())));
    }
    Ok(url)
}

/// Bytes, with an optional unit: `524288000`, `500MiB`, `8GiB`, `2G` (powers of 1000 for
/// kB/MB/GB/k/M/G, of 1024 for KiB/MiB/GiB).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number of bytes (e.g. 524288000 or 8GiB)"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "kB" | "K" | "KB" => 1000,
        "M" | "MB" => 1000_u64.pow(2),
        "G" | "GB" => 1000_u64.pow(3),
        "T" | "TB" => 1000_u64.pow(4),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => {
            return Err(format!(
                "\"{text}\" has an unknown unit \"{other}\" (B, kB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("\"{text}\" is more bytes than fit in 64 bits"))
}

fn half_of_physical_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        // Where /proc is not there: a budget of 4 GiB.
        .unwrap_or(8 << 20);
    total_kib * 1024 / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_take_units() {
        assert_eq!(parse_bytes("524288000"), Ok(524_288_000));
        assert_eq!(parse_bytes("500MiB"), Ok(500 << 20));
        assert_eq!(parse_bytes("8GiB"), Ok(8 << 30));
        assert_eq!(parse_bytes("2G"), Ok(2_000_000_000));
        assert_eq!(parse_bytes("1 kB"), Ok(1000));
        assert!(parse_bytes("lots").unwrap_err().contains("not a number"));
        assert!(parse_bytes("5 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_bytes("99999999999999999999").is_err());
        assert!(parse_bytes("20000000TiB").unwrap_err().contains("64 bits"));
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = ServeArgs::default().resolve().unwrap();
        assert_eq!(config.listen, "127.0.0.1:8480".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("./gst-replay-data"));
        assert_eq!(config.save_queue, DEFAULT_SAVE_QUEUE);
        assert_eq!(config.max_sessions, None);
        assert!(config.memory_budget > 0);
        assert!(config.webhooks.is_empty() && config.token.is_none());
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_the_defaults() {
        let dir = test_support::TestDir::new("service-config");
        let file = dir.join("serve.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nmax-sessions = 4\nmemory-budget = \"1GiB\"\n\
             webhook = [\"http://127.0.0.1:1/hook\"]\ntoken = \"from-file\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            max_sessions: Some(8),
            ..ServeArgs::default()
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.max_sessions, Some(8));
        assert_eq!(config.memory_budget, 1 << 30);
        assert_eq!(config.token.as_deref(), Some("from-file"));
        assert_eq!(config.webhooks[0].as_str(), "http://127.0.0.1:1/hook");
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let dir = test_support::TestDir::new("service-config-bad");
        let file = dir.join("serve.toml");
        std::fs::write(&file, "max-sesions = 4\n").unwrap();
        let error = ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        }
        .resolve()
        .unwrap_err();
        assert!(error.to_string().contains("max-sesions"), "{error}");
        let listen = ServeArgs {
            listen: Some("localhost".into()),
            ..ServeArgs::default()
        };
        assert!(matches!(listen.resolve(), Err(ConfigError::Listen(_))));
        let webhook = ServeArgs {
            webhooks: vec!["ftp://example.com/".into()],
            ..ServeArgs::default()
        };
        assert!(webhook.resolve().unwrap_err().to_string().contains("ftp"));
        let token = ServeArgs {
            token: Some(String::new()),
            ..ServeArgs::default()
        };
        assert!(matches!(token.resolve(), Err(ConfigError::EmptyToken)));
    }
}
