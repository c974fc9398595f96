//! How both binaries write their logs: `--log-format text|json` and `--log` filter directives
//! (levels per module), read from the environment too (`HECATON_LOG_FORMAT`, `HECATON_LOG`,
//! then `RUST_LOG`) so that the processes a node starts (its data plane, `hecaton dev`'s
//! nodes) log the same way as the one the operator started.
//!
//! Behind the `logging` feature: the one part of this crate that does I/O (it installs the
//! process's subscriber, which writes to stderr).

use std::io::IsTerminal;

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours on a terminal).
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`, `span`): for
    /// Elasticsearch, Loki or any shipper that reads JSON lines.
    Json,
}

/// The environment variable that carries the format to child processes.
pub const FORMAT_ENV: &str = "HECATON_LOG_FORMAT";
/// The environment variable that carries the filter to child processes.
pub const FILTER_ENV: &str = "HECATON_LOG";

/// The logging flags both binaries take.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log line format: text, or json (one object per line, for log shippers).
    #[arg(long, env = FORMAT_ENV, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Log filter: a level, and levels per module, e.g.
    /// `info,hecaton_dataplane::fetch=debug,hecaton_controlplane::storage_node::sync=trace`.
    /// Default: `RUST_LOG`, else `info`.
    #[arg(long = "log", env = FILTER_ENV, global = true)]
    pub log_filter: Option<String>,
}

/// Why the logging flags were refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid --log filter {filter:?}: {reason}")]
pub struct LogFilterError {
    /// The filter given.
    pub filter: String,
    /// What is wrong with it.
    pub reason: String,
}

impl LogArgs {
    /// Installs the process's subscriber, and exports the choice to the environment so that the
    /// processes this one starts inherit it. Call first in `main`, before any thread starts
    /// (`set_var` is not safe once other threads read the environment).
    pub fn init(&self) -> Result<(), LogFilterError> {
        let directives = self
            .log_filter
            .clone()
            .or_else(|| std::env::var("RUST_LOG").ok())
            .unwrap_or_else(|| "info".to_owned());
        let filter = tracing_subscriber::EnvFilter::builder()
            .parse(&directives)
            .map_err(|e| LogFilterError {
                filter: directives.clone(),
                reason: e.to_string(),
            })?;
        std::env::set_var(FILTER_ENV, &directives);
        std::env::set_var(
            FORMAT_ENV,
            match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            },
        );
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        match self.log_format {
            LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
            LogFormat::Json => builder
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .init(),
        }
        Ok(())
    }
}
