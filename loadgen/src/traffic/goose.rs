//! goose's setup: its configuration, and the scenario of one transaction that hands each
//! user to the engine.

use std::sync::Arc;
use std::time::Duration;

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::goose::{Transaction, TransactionFunction};
use goose::metrics::GooseCoordinatedOmissionMitigation;
use goose::prelude::GooseAttack;

use super::send::Engine;
use crate::plan::Plan;

/// goose's configuration, built here rather than from the command line: goose must not
/// read loadgen's arguments. Its telnet and WebSocket controllers are off (nobody steers a
/// scenario from outside, and their ports would clash between runs), and so are its
/// coordinated-omission backfill (loadgen measures from due times itself) and its console
/// tables (loadgen prints its own).
pub fn goose_config(
    target: &str,
    plan: &Plan,
    timeout: Duration,
    html_report: Option<&std::path::Path>,
) -> GooseConfiguration {
    let mut c = GooseConfiguration::default();
    c.host = Some(target.to_owned());
    c.users = Some(plan.pool);
    c.increase_rate = Some(format!("{:.3}", plan.hatch_rate));
    c.no_telnet = true;
    c.websocket = false;
    c.no_print_metrics = true;
    c.no_error_summary = false;
    c.no_transaction_metrics = true;
    c.no_scenario_metrics = true;
    c.co_mitigation = Some(GooseCoordinatedOmissionMitigation::Disabled);
    c.timeout = Some(format!("{}", timeout.as_secs().max(1)));
    c.quiet = 1;
    if let Some(p) = html_report {
        c.report_file = vec![p.display().to_string()];
    }
    c
}

/// Runs goose until the run's end (the driver triggers goose's killswitch) or Ctrl-C.
pub async fn run_goose(
    engine: Arc<Engine>,
    config: GooseConfiguration,
    timeout: Duration,
) -> anyhow::Result<goose::metrics::GooseMetrics> {
    let e = Arc::clone(&engine);
    let test_start: TransactionFunction = Arc::new(move |_user| {
        let e = Arc::clone(&e);
        Box::pin(async move {
            e.start_clock();
            Ok(())
        })
    });
    let e = Arc::clone(&engine);
    let share_client: TransactionFunction = Arc::new(move |user| {
        let e = Arc::clone(&e);
        Box::pin(async move {
            user.client = e.client.clone();
            Ok(())
        })
    });
    let e = Arc::clone(&engine);
    let tick: TransactionFunction = Arc::new(move |user| {
        let e = Arc::clone(&e);
        Box::pin(async move { e.tick(user).await })
    });
    let scenario = goose::goose::Scenario::new("lab")
        .register_transaction(
            Transaction::new(share_client)
                .set_name("shared client")
                .set_on_start(),
        )
        .register_transaction(Transaction::new(tick).set_name("traffic"));
    let metrics = GooseAttack::initialize_with_config(config)?
        // One client built by goose for all users (not one each), replaced at once by
        // loadgen's own, which has the pool settings goose's builder does not expose.
        .set_client_builder_without_cookies(
            GooseClientBuilder::new().without_cookies().timeout(timeout),
        )?
        .test_start(Transaction::new(test_start).set_name("start the clock"))
        .register_scenario(scenario)
        .execute()
        .await?;
    Ok(metrics)
}
