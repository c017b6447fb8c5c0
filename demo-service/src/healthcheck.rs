//! `demo-service healthcheck`: probes a running service so container images need no curl.

use std::process::ExitCode;
use std::time::Duration;

use crate::config::HealthcheckConfig;

pub fn run(cfg: HealthcheckConfig) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("healthcheck: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(probe(&cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("healthcheck: {} is not healthy: {reason}", cfg.url);
            ExitCode::FAILURE
        }
    }
}

async fn probe(cfg: &HealthcheckConfig) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.timeout_ms))
        .build()
        .map_err(|e| e.to_string())?;
    let res = client
        .get(&cfg.url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", res.status()))
    }
}
