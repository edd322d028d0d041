//! `hyperplug-testprog`: a program the command objective's tests run as a trial. Each argument is
//! one action, done in order:
//!
//! - `out:TEXT` / `err:TEXT`: print a line to stdout / stderr
//! - `err-lines:N`: print `stderr line 1` … `stderr line N` to stderr
//! - `steps:N:KEY:MS`: print `{"step": i, "KEY": (i+1)/N}` for i in 0..N, sleeping MS ms after each
//! - `sleep:MS`: sleep
//! - `exit:CODE`: exit now with CODE
//! - `hang`: sleep (10 minutes at most, then exit 99)
//! - `ignore-term`: ignore SIGTERM from now on
//! - `pid:PATH`: write its own pid to PATH
//! - `spawn:PATH`: start a child that hangs, and write the child's pid to PATH
//! - `wait-file:PATH`: wait until PATH exists (30 s at most, then exit 98)
//! - `dump:PATH`: write its arguments, directory, environment and the parameter file
//!   (`HYPERPLUG_PARAMS`) to PATH as JSON
//!
//! Without `exit`, it exits 0 after the last action. It is a test fixture, not part of the
//! objective: it depends on the standard library, serde_json and (for `ignore-term`) nix only.

use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::thread::sleep;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let actions: Vec<String> = std::env::args().skip(1).collect();
    for action in &actions {
        let (verb, arg) = action.split_once(':').unwrap_or((action.as_str(), ""));
        let result = match verb {
            "out" => {
                println!("{arg}");
                std::io::stdout().flush()
            }
            "err" => {
                eprintln!("{arg}");
                Ok(())
            }
            "err-lines" => {
                for i in 1..=number(arg) {
                    eprintln!("stderr line {i}");
                }
                Ok(())
            }
            "steps" => steps(arg),
            "sleep" => {
                sleep(Duration::from_millis(number(arg)));
                Ok(())
            }
            "exit" => return ExitCode::from(u8::try_from(number(arg)).unwrap_or(1)),
            "hang" => {
                sleep(Duration::from_secs(600));
                return ExitCode::from(99);
            }
            "ignore-term" => {
                ignore_term();
                Ok(())
            }
            "pid" => std::fs::write(arg, std::process::id().to_string()),
            "spawn" => spawn(arg),
            "wait-file" => {
                let since = Instant::now();
                while !Path::new(arg).exists() {
                    if since.elapsed() > Duration::from_secs(30) {
                        eprintln!("waited 30 s for {arg}");
                        return ExitCode::from(98);
                    }
                    sleep(Duration::from_millis(10));
                }
                Ok(())
            }
            "dump" => dump(arg),
            other => {
                eprintln!("hyperplug-testprog: unknown action `{other}`");
                return ExitCode::from(2);
            }
        };
        if let Err(e) = result {
            eprintln!("hyperplug-testprog: {action}: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn number(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| {
        eprintln!("hyperplug-testprog: `{s}` is not a number");
        std::process::exit(2)
    })
}

fn steps(arg: &str) -> std::io::Result<()> {
    let mut parts = arg.splitn(3, ':');
    let n = number(parts.next().unwrap_or("0"));
    let key = parts.next().unwrap_or("value");
    let ms = number(parts.next().unwrap_or("0"));
    let mut out = std::io::stdout();
    for i in 0..n {
        let line = serde_json::json!({ "step": i, key: (i + 1) as f64 / n as f64 });
        writeln!(out, "{line}")?;
        out.flush()?;
        sleep(Duration::from_millis(ms));
    }
    Ok(())
}

fn spawn(path: &str) -> std::io::Result<()> {
    let child = Command::new(std::env::current_exe()?).arg("hang").spawn()?;
    std::fs::write(path, child.id().to_string())
}

fn dump(path: &str) -> std::io::Result<()> {
    let params = std::env::var("HYPERPLUG_PARAMS")
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let env: serde_json::Map<String, serde_json::Value> = std::env::vars()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let dump = serde_json::json!({
        "args": std::env::args().collect::<Vec<_>>(),
        "cwd": std::env::current_dir()?,
        "env": env,
        "params": params,
    });
    std::fs::write(path, dump.to_string())
}

#[cfg(unix)]
fn ignore_term() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_IGN installs no handler code, so nothing can run at an unsafe moment; the
    // program is single-threaded here.
    if let Err(e) = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) } {
        eprintln!("hyperplug-testprog: cannot ignore SIGTERM: {e}");
        std::process::exit(2);
    }
}

#[cfg(not(unix))]
fn ignore_term() {}
