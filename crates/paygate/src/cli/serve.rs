//! `paygate serve`: the gateway. Reads the settings, builds the app, says where it listens, serves
//! until SIGINT/SIGTERM.

use std::io::Write;

use clap::Args;
use gateway::app::{self, App};

use super::common::DataArgs;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the line printed on start shows it)
    /// [default: 127.0.0.1:8080] [env: PAYGATE_LISTEN]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.data.settings(args.listen)?;
    let app = app::build(settings).await?;
    // Before the address is announced: whoever reads it may send a signal at once.
    let shutdown = super::signal::shutdown_signal();
    if app.sandbox().is_some() {
        announce_sandbox(&app);
    }
    {
        let mut out = std::io::stdout().lock();
        // Tests and scripts read this one line to learn the port; it must reach them now.
        let _ = writeln!(out, "paygate listening on http://{}", app.addr());
        let _ = out.flush();
    }
    // On stderr, so stdout keeps its one line; tests read it to find a metrics port picked by 0.
    match app.metrics_addr() {
        Some(addr) => eprintln!("paygate metrics on http://{addr}/metrics"),
        // `metrics.listen = "off"`, or the default address was taken (a warning above says so).
        None => eprintln!("paygate metrics off"),
    }
    app.serve(shutdown).await?;
    tracing::info!("paygate stopped");
    Ok(())
}

/// The banner, the simulator's address and, on first start, the demo site's keys: all on stderr,
/// so stdout keeps its one machine-readable line.
fn announce_sandbox(app: &App) {
    let public_url = app.public_url();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\n  ================================================\n   \
         SANDBOX MODE — NO REAL MONEY MOVES\n  \
         ================================================\n  \
         This database is a sandbox for good: WeChat Pay and Alipay are simulated in-process,\n  \
         site keys are ak_test_…/sk_test_…, and notifications say \"livemode\": false."
    );
    if let Some(sandbox) = app.sandbox() {
        let _ = writeln!(
            err,
            "  Simulator: {} (control API: `paygate sim --help`; GET {public_url}/sandbox/info)\n  \
             Pay an order as its payer would: POST {public_url}/sandbox/pay?token=ck_…",
            sandbox.sim_url()
        );
    }
    if let Some(demo) = app.demo_site() {
        // One write: a reader (a person or a script) who sees the site id sees the keys too.
        let block = format!(
            "\n  Demo site created (shown once, keep the SK):\n    \
             site_id: {}\n    ak:      {}\n    sk:      {}\n\n  \
             Try the seed's Node.js example (Node 18+), from the repository root:\n    \
             sed -e 's/ak_xxx/{}/' -e 's/sk_xxx/{}/' -e 's#http://127.0.0.1:8080#{public_url}#' \
             interop/seed000_example.mjs > /tmp/paygate_example.mjs && node /tmp/paygate_example.mjs\n",
            demo.site_id, demo.ak, demo.sk, demo.ak, demo.sk
        );
        let _ = err.write_all(block.as_bytes());
    }
    let _ = err.flush();
}
