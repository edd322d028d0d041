//! A server on loopback over a temporary SQLite store, and a small keep-alive HTTP/1.1 client
//! (std only: the tests speak real HTTP without a client library).

#![allow(dead_code)] // each test binary uses part of it
#![allow(clippy::unwrap_used)] // test support: a failure is the test failing

pub mod cdp;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use hyperplug_engine::Registry;
use hyperplug_server::{Config, Server};

/// A running server; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub storage: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Running {
    /// A server on 127.0.0.1 (any port) over a new SQLite file, `tweak` applied to its config.
    pub fn start(tweak: impl FnOnce(&mut Config)) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let storage = format!("sqlite://{}", dir.path().join("studies.db").display());
        let mut running = Running::at(&storage, tweak);
        running._dir = Some(dir);
        running
    }

    /// A server on 127.0.0.1 (any port) over the store at `storage`, which outlives it (to
    /// start another server on the same store).
    pub fn at(storage: &str, tweak: impl FnOnce(&mut Config)) -> Running {
        let mut config = Config::new(storage);
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        tweak(&mut config);
        let storage = config.storage.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = Server::bind(config, Registry::bundled()).await.unwrap();
                tx.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Running {
            addr,
            storage,
            stop: Some(stop),
            thread: Some(thread),
            _dir: None,
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One keep-alive connection.
pub struct Client {
    reader: BufReader<TcpStream>,
    pub headers: Vec<(String, String)>,
}

/// A response: status, headers (lowercase names) and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Client {
            reader: BufReader::new(stream),
            headers: Vec::new(),
        }
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, None, "application/json")
    }

    pub fn post(&mut self, path: &str, body: &str) -> Response {
        self.send("POST", path, Some(body), "application/json")
    }

    pub fn post_json(&mut self, path: &str, body: serde_json::Value) -> Response {
        self.post(path, &body.to_string())
    }

    pub fn send(&mut self, method: &str, path: &str, body: Option<&str>, kind: &str) -> Response {
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        // A loopback name, as a browser on this machine sends, unless the test gives its own.
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            head.push_str("Host: localhost\r\n");
        }
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: {kind}\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        if let Some(b) = body {
            stream.write_all(b.as_bytes()).unwrap();
        }
        read_response(&mut self.reader)
    }
}

fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_owned()));
        }
    }
    (status, headers)
}

fn read_response(reader: &mut BufReader<TcpStream>) -> Response {
    let (status, headers) = read_head(reader);
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = header("content-length") {
        body.resize(len.parse().unwrap(), 0);
        reader.read_exact(&mut body).unwrap();
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Response {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

/// A server-sent event stream, read event by event.
pub struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    pub fn open(addr: SocketAddr, path: &str) -> Events {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        reader
            .get_mut()
            .write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status, 200, "{headers:?}");
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "content-type" && v.starts_with("text/event-stream"))
        );
        Events { reader }
    }

    /// The next event's name and data (chunk framing skipped: events are text lines).
    pub fn next(&mut self) -> (String, String) {
        let (mut event, mut data) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).unwrap();
            assert!(n > 0, "the event stream ended");
            let l = line.trim_end_matches(['\r', '\n']);
            if let Some(e) = l
                .strip_prefix("event: ")
                .or_else(|| l.strip_prefix("event:"))
            {
                event = e.to_owned();
            } else if let Some(d) = l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")) {
                data.push_str(d);
            } else if l.is_empty() && !event.is_empty() {
                return (event, data);
            }
        }
    }
}

/// A study over `x` in [-1, 1] (and a categorical) with the random strategy and `trials`.
pub fn create_study(c: &mut Client, name: &str, trials: u64) {
    let r = c.post_json(
        "/api/studies",
        serde_json::json!({
            "name": name,
            "strategy": "random",
            "direction": "minimize",
            "seed": 7,
            "trials": trials,
            "space": { "x": { "float": [-1.0, 1.0] }, "act": { "choice": ["relu", "tanh"] } },
        }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Asks and tells `x²` until the budget is spent; the numbers it got.
pub fn work(c: &mut Client, name: &str) -> Vec<u64> {
    let mut numbers = Vec::new();
    loop {
        let a = c.post(&format!("/api/studies/{name}/ask"), "");
        assert_eq!(a.status, 200, "{}", a.body);
        let a = a.json();
        if a["done"] == true {
            return numbers;
        }
        let n = a["number"].as_u64().unwrap();
        let x = a["params"]["x"].as_f64().unwrap();
        let t = c.post_json(
            &format!("/api/studies/{name}/trials/{n}/tell"),
            serde_json::json!({ "value": x * x }),
        );
        assert_eq!(t.status, 200, "{}", t.body);
        numbers.push(n);
    }
}
