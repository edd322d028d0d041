//! HTTP ask+tell round trips per second on loopback: `clients` keep-alive connections ask a
//! random-strategy study for a trial and tell `x²` until its budget is spent.
//!
//! ```text
//! cargo run --release -p hyperplug-server --example http_bench -- [CLIENTS] [TRIALS] [ADDR]
//! ```
//!
//! Without ADDR it serves a temporary SQLite store in-process; with one it talks to a running
//! `hyperplug dashboard` (which must use a SQLite or PostgreSQL store).

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clients: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(8);
    let trials: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let (addr, _server) = match args.get(2) {
        Some(a) => (
            a.parse::<SocketAddr>().expect("ADDR like 127.0.0.1:8080"),
            None,
        ),
        None => {
            let s = support::Running::start(|c| c.rate_limit = 1_000_000);
            (s.addr, Some(s))
        }
    };
    let name = format!("http-bench-{}", std::process::id());
    support::create_study(&mut support::Client::connect(addr), &name, trials);
    let started = Instant::now();
    let told: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| s.spawn(|| support::work(&mut support::Client::connect(addr), &name).len()))
            .collect();
        handles.into_iter().map(|h| h.join().expect("client")).sum()
    });
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(told as u64, trials, "every trial of the budget told");
    println!(
        "{clients} clients, {told} ask+tell round trips in {secs:.2} s: {:.0} per second",
        told as f64 / secs
    );
}
