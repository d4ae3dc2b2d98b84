//! `paygate sim`: the WeChat Pay and Alipay simulators, standalone.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

const CONTROL_API: &str = "\
Runs simulators of WeChat Pay API v3 and Alipay OpenAPI on one listener. Point a client's base URL
at it (http://ADDR/ for WeChat Pay, http://ADDR/gateway.do for Alipay). On start it prints exactly one
line to stdout, `paygate sim listening on http://IP:PORT`; logs go to stderr. With --state-dir, state
(merchants, keys, orders, refunds) survives restarts. SIGINT/SIGTERM shut it down gracefully.

Control API (same listener, JSON, not signed):

  POST /sim/wechat/merchants
      {\"mchid\",\"serial_no\",\"merchant_public_key_pem\",\"apiv3_key\",\"appids\":[…],
       \"mode\":\"public_key\"|\"certificate\" (default public_key), \"auto_refund\":true,
       \"sub_merchants\":[{\"sub_mchid\",\"sub_appids\":[…],\"max_ratio\"}] (as a service provider),
       \"profit_sharing_notify_url\"}
      → {\"mchid\",\"mode\",\"public_key_id\",\"public_key_pem\",\"platform_serial_no\",
         \"platform_certificate_pem\"}   (stable for a mchid; re-registering updates the rest)
  POST /sim/wechat/sub-merchants {\"sp_mchid\",\"sub_mchid\",\"sub_appids\":[…],\"max_ratio\"}
      binds a sub-merchant to a service provider; partner calls for any other get 403 NO_AUTH
  POST /sim/wechat/orders/{out_trade_no}/pay?mchid=…[&sub_mchid=…][&openid=…]
      the payer pays: SUCCESS, then a TRANSACTION.SUCCESS callback to notify_url
  POST /sim/wechat/orders/{out_trade_no}/fail?mchid=…[&sub_mchid=…]      → PAYERROR
  POST /sim/wechat/combine/{combine_out_trade_no}/pay?mchid=…            pays a combined order
  POST /sim/wechat/refunds/{out_refund_no}/{success|abnormal|closed}?mchid=…[&sub_mchid=…]
      settles a PROCESSING refund (refunds succeed on their own after 2 s × time scale unless the
      merchant was registered with \"auto_refund\":false); a REFUND.* callback follows
  GET  /sim/wechat/callbacks     callbacks sent, with every attempt (time, status/error, latency)

  POST /sim/faults  any of {\"drop_callbacks\":bool,\"callback_delay_ms\":n,\"api_error_rate\":0..1,
                    \"api_rate_limit_rate\":0..1,\"api_hang_rate\":0..1} → the current switches
  GET  /sim/faults   DELETE /sim/faults (all off)
  GET  /sim/callbacks[?channel=wechat|alipay]   the callback log of every channel (the latest 20,000)

  Alipay: POST /sim/alipay/apps, POST /sim/alipay/trades/{out_trade_no}/pay?app_id=…[&merchant_id=…]
  (and /fail), GET /sim/alipay/callbacks; POST /sim/alipay/app-auth {\"app_id\",\"merchant_id\"}
  → {\"app_auth_token\",\"user_id\",\"auth_app_id\",…}: a merchant authorises the app (ISV), whose
  calls with that token are the merchant's.

Callbacks are retried on the channel's real schedule (WeChat Pay: 15s/15s/30s/3m/10m/20m/30m/30m/
30m/60m/3h/3h/3h/6h/6h) multiplied by --time-scale.";

#[derive(Debug, Args)]
#[command(about = "Run the WeChat Pay and Alipay simulators", long_about = CONTROL_API)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port (the line printed on start shows it).
    #[arg(long, env = "PAYGATE_SIM_LISTEN", default_value = "127.0.0.1:8680")]
    listen: SocketAddr,
    /// Directory for state that survives restarts; without it everything is in memory.
    #[arg(long, env = "PAYGATE_SIM_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Multiplies callback retry delays (0.001 turns 15 s into 15 ms).
    #[arg(long, env = "PAYGATE_SIM_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,
    /// The URL clients reach the simulator at, if not http://LISTEN (used in bill download links).
    #[arg(long, env = "PAYGATE_SIM_PUBLIC_URL")]
    public_url: Option<String>,
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.time_scale.is_finite() && args.time_scale >= 0.0,
        "--time-scale must be a non-negative number"
    );
    let config = sim::SimConfig {
        state_dir: args.state_dir,
        time_scale: args.time_scale,
        public_base_url: args.public_url,
    };
    sim::serve(
        config,
        args.listen,
        super::signal::shutdown_signal(),
        |addr| {
            let mut out = std::io::stdout().lock();
            // Tests and scripts read this line to learn the port; it must reach them now.
            let _ = writeln!(out, "paygate sim listening on http://{addr}");
            let _ = out.flush();
        },
    )
    .await
    .context("simulator failed")?;
    tracing::info!("simulator stopped");
    Ok(())
}
