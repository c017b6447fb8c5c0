//! demo-service: the lab's instrumented web service, and (`demo-service inventory`) the
//! inventory service it calls.

mod config;
mod healthcheck;
mod http;
mod inventory;
mod telemetry;

use std::future::Future;
use std::process::ExitCode;

use actix_web::web;

use config::{Cli, Command, ServeConfig};
use http::inventory_client::InventoryClient;
use http::routes::{self, Limits};
use telemetry::Telemetry;

// jemalloc: steady under many threads, and its statistics are the allocator figures of the
// runtime metrics.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_or_exit();
    match cli.command {
        Some(Command::Healthcheck(h)) => healthcheck::run(h),
        Some(Command::Inventory(cfg)) => block_on("inventory", inventory::run(*cfg)),
        Some(Command::Serve(cfg)) => block_on("demo-service", run(*cfg)),
        None => block_on("demo-service", run(cli.serve)),
    }
}

fn block_on(name: &str, service: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let result = actix_web::rt::System::new().block_on(service);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The subscriber may not be installed (or may be the thing that failed).
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: ServeConfig) -> anyhow::Result<()> {
    let telemetry = Telemetry::init(&cfg)?;
    telemetry::profiler::start_if_enabled(&cfg)?;
    let limits = web::Data::new(Limits::from(&cfg));
    let inventory = web::Data::new(InventoryClient::new(&cfg)?);
    http::server::serve(&cfg, telemetry, "demo-service started", move |app| {
        app.app_data(limits.clone()).app_data(inventory.clone());
        routes::configure(app);
    })
    .await
}
