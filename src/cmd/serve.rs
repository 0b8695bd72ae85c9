//! `exlibris serve`: the lookup service and its web page over one audit.
use std::path::PathBuf;
use std::process::ExitCode;

use exlibris_server::{AuthMode, ServerConfig, Service, Tokens};

/// Serve lookups over an index and the results of a scan.
#[derive(clap::Args)]
pub struct Args {
    /// The index directory (the one the results were scanned with).
    #[arg(long)]
    index: PathBuf,
    /// Results directory (from `exlibris scan`).
    #[arg(long)]
    results: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// File of accepted bearer tokens, one a line (at least 16 characters each).
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// What a token is needed for: everything (but /v1/health) or only evidence text.
    #[arg(long, value_parser = ["everything", "evidence"], default_value = "everything", requires = "tokens")]
    require_token: String,
    /// Largest request body.
    #[arg(long, default_value = "1M", value_parser = super::parse_size)]
    max_body: usize,
    /// Longest passage to look up.
    #[arg(long, default_value = "256K", value_parser = super::parse_size)]
    max_passage: usize,
    /// Requests per second per client address (0: no limit); bursts of twice that.
    #[arg(long, default_value_t = 20)]
    rate_limit: u32,
    /// No access log on stderr.
    #[arg(long)]
    quiet: bool,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let tokens = a.tokens.as_deref().map(Tokens::read).transpose()?;
    let config = ServerConfig {
        max_body: a.max_body,
        max_passage: a.max_passage,
        rate_limit: a.rate_limit,
        auth: if a.require_token == "evidence" { AuthMode::Evidence } else { AuthMode::Everything },
        tokens,
        access_log: !a.quiet,
        ..Default::default()
    };
    let service = Service::open(&a.index, &a.results, config)?;
    exlibris_server::serve_blocking(&a.listen, service, |addr| {
        eprintln!("exlibris: serving {} on http://{addr}/ (Ctrl-C to stop)", a.results.display());
    })?;
    Ok(ExitCode::SUCCESS)
}
