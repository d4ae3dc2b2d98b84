//! What this machine allows at most, measured in the same run as the scenarios so each result can
//! be read against it: RSA-2048 signatures per second on every core, with the signing code paygate
//! and its simulator use (every sandbox order costs two: paygate signs the request, the simulator
//! signs its answer), and fsyncs per second on the data dir's file system (every commit, on SQLite
//! and on PostgreSQL, waits for one, unless several share it).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use channel_core::RsaPrivateKey;

#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// RSA-2048 PKCS#1 SHA-256 signatures per second, one signing thread per core.
    pub rsa_signs: f64,
    pub cores: usize,
    /// `fdatasync`s per second of a 4 KiB append, one after the other, in the data dir.
    pub fsyncs: f64,
}

impl Bounds {
    /// Signs on every core for `budget`, then appends and syncs in `dir` for `budget`.
    pub fn measure(dir: &Path, budget: Duration) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let rsa_signs = rsa_signs(cores, budget)?;
        let fsyncs = fsyncs(dir, budget)?;
        Ok(Self {
            rsa_signs,
            cores,
            fsyncs,
        })
    }
}

fn rsa_signs(cores: usize, budget: Duration) -> anyhow::Result<f64> {
    let key = RsaPrivateKey::generate().context("an RSA key to sign with")?;
    // A WeChat Pay request's signed message is about this long.
    let message = b"POST\n/v3/pay/transactions/native\n1767225600\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"1230000109\",\"description\":\"VIP\",\"out_trade_no\":\"1217752501201407033233368018\",\"notify_url\":\"https://paygate.example/callbacks/wechat\",\"amount\":{\"total\":2990,\"currency\":\"CNY\"}}\n";
    let started = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0u64;
                    while started.elapsed() < budget {
                        std::hint::black_box(key.sign_base64(message));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap_or(0)).sum()
    });
    Ok(super::load::per_second(total, started.elapsed()))
}

fn fsyncs(dir: &Path, budget: Duration) -> anyhow::Result<f64> {
    let path = dir.join("fsync-probe");
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let block = [0x5au8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < budget {
        file.write_all(&block).context("writing the fsync probe")?;
        file.sync_data().context("syncing the fsync probe")?;
        n += 1;
    }
    let elapsed = started.elapsed();
    drop(file);
    let _ = std::fs::remove_file(&path);
    Ok(super::load::per_second(n, elapsed))
}
