//! The HTTP API over real connections on loopback: concurrent ask/tell, bad requests, the
//! token, lease expiry, the rate limit and the live event stream.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use hyperplug_engine::{
    Direction, Domain, Param, Registry, Settings, SharedStudy, Space, StudyConfig,
};
use hyperplug_server::{Config, Server, Token};
use hyperplug_storage::testing::PgTestSchema;
use serde_json::json;
use support::{Client, Events, Running, create_study, work};

#[test]
fn thirty_two_clients_asking_at_once_get_distinct_numbers_and_the_exact_budget() {
    let server = Running::start(|_| {});
    create_study(&mut server.client(), "busy", 300);
    let numbers: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|_| s.spawn(|| work(&mut server.client(), "busy")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<u64> = numbers.iter().flatten().copied().collect();
    let distinct: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "exactly the budget was lent");
    assert_eq!(distinct.len(), 300, "no number lent twice");
    assert_eq!(distinct, (0..300).collect(), "numbers 0..300");
    assert!(
        numbers.iter().filter(|n| !n.is_empty()).count() > 1,
        "clients shared the work"
    );

    let study = server.client().get("/api/studies/busy").json();
    assert_eq!(study["schema_version"], 1);
    assert_eq!(study["counts"]["complete"], 300);
    assert_eq!(study["counts"]["running"], 0);
    assert_eq!(study["trials"].as_array().unwrap().len(), 300);
    let best = study["best_trials"][0]["values"][0].as_f64().unwrap();
    let min = study["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["values"][0].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best, min);
    // More asks after the budget: done, and nothing more stored.
    assert_eq!(
        server.client().post("/api/studies/busy/ask", "").json()["done"],
        true
    );
    let list = server.client().get("/api/studies").json();
    assert_eq!(list["studies"][0]["name"], "busy");
    assert_eq!(list["studies"][0]["counts"]["complete"], 300);
}

#[test]
fn intermediate_values_attributes_pruned_and_failed_trials_are_stored() {
    let server = Running::start(|_| {});
    let mut c = server.client();
    create_study(&mut c, "steps", 3);
    let n = c.post("/api/studies/steps/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    let r = c.post_json(
        &format!("/api/studies/steps/trials/{n}/report"),
        json!({"step": 1, "value": 0.5}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["prune"], false, "no pruner: never prune");
    let r = c.post_json(
        &format!("/api/studies/steps/trials/{n}/attrs"),
        json!({"host": "gpu1", "epochs": 3}),
    );
    assert_eq!(r.json()["set"], 2);
    let t = c
        .post_json(
            &format!("/api/studies/steps/trials/{n}/tell"),
            json!({"values": [0.25]}),
        )
        .json();
    assert_eq!(t["state"], "complete");
    assert_eq!(t["intermediate"], json!([[1, 0.5]]));
    assert_eq!(t["user_attrs"], json!({"host": "gpu1", "epochs": 3}));

    let p = c.post("/api/studies/steps/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    let t = c
        .post_json(
            &format!("/api/studies/steps/trials/{p}/tell"),
            json!({"state": "pruned"}),
        )
        .json();
    assert_eq!(t["state"], "pruned");
    let f = c.post("/api/studies/steps/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    let t = c
        .post_json(
            &format!("/api/studies/steps/trials/{f}/tell"),
            json!({"state": "failed", "message": "out of memory"}),
        )
        .json();
    assert_eq!(t["state"], "failed");
    assert_eq!(t["message"], "out of memory");
    // Told twice: the lease is gone.
    let again = c.post_json(
        &format!("/api/studies/steps/trials/{f}/tell"),
        json!({"value": 1.0}),
    );
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["field"], "number");
}

/// Posts `body` (raw text) and returns the status and the error's `field`.
fn refused(c: &mut Client, path: &str, body: &str) -> (u16, serde_json::Value, String) {
    let r = c.post(path, body);
    let j = r.json();
    assert!(j["error"].is_string(), "{}", r.body);
    (
        r.status,
        j["field"].clone(),
        j["error"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn bad_requests_get_4xx_naming_the_field_and_the_server_keeps_serving() {
    let server = Running::start(|c| c.body_limit = 4096);
    let mut c = server.client();
    create_study(&mut c, "s", 10);
    let create = |extra: serde_json::Value| {
        let mut body =
            json!({"name": "t", "strategy": "random", "space": {"x": {"float": [0.0, 1.0]}}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body.to_string()
    };
    let cases: Vec<(&str, String, u16, serde_json::Value, &str)> = vec![
        (
            "/api/studies",
            "{\"name\": ".into(),
            400,
            json!(null),
            "not JSON",
        ),
        ("/api/studies", "[1, 2]".into(), 422, json!(null), "invalid"),
        (
            "/api/studies",
            create(json!({"bogus": 1})),
            422,
            json!("bogus"),
            "unknown field",
        ),
        (
            "/api/studies",
            create(json!({"name": 5})),
            422,
            json!("name"),
            "invalid type",
        ),
        (
            "/api/studies",
            json!({"name": "t", "space": {}}).to_string(),
            422,
            json!("strategy"),
            "missing field",
        ),
        (
            "/api/studies",
            create(json!({"name": "a\u{1b}[2Jb"})),
            400,
            json!("name"),
            "control character",
        ),
        (
            "/api/studies",
            create(json!({"direction": "sideways"})),
            422,
            json!("direction"),
            "unknown variant",
        ),
        (
            "/api/studies",
            create(json!({"space": {"x": {"float": [1.0, 0.0]}}})),
            400,
            json!("space.x"),
            "inverted",
        ),
        (
            "/api/studies",
            create(json!({"space": {"x": {"flot": [0.0, 1.0]}}})),
            400,
            json!("space.x"),
            "space.x",
        ),
        (
            "/api/studies",
            create(json!({"strategy": "nonesuch"})),
            422,
            json!("strategy"),
            "nonesuch",
        ),
        (
            "/api/studies",
            create(json!({"trials": 0})),
            400,
            json!("trials"),
            "0 trials",
        ),
        (
            "/api/studies",
            create(json!({"direction": "minimize", "directions": ["maximize"]})),
            400,
            json!("directions"),
            "not both",
        ),
        (
            "/api/studies/s/trials/x/tell",
            "{\"value\": 1}".into(),
            400,
            json!("number"),
            "not a trial number",
        ),
        (
            "/api/studies/s/trials/99/tell",
            "{\"value\": 1}".into(),
            409,
            json!("number"),
            "not lent",
        ),
        (
            "/api/studies/s/trials/0/tell",
            "{\"values\": [\"a\"]}".into(),
            422,
            json!("values[0]"),
            "invalid type",
        ),
        (
            "/api/studies/s/trials/0/tell",
            "{\"state\": \"done\"}".into(),
            422,
            json!("state"),
            "unknown variant",
        ),
        (
            "/api/studies/s/trials/0/tell",
            "{\"valeu\": 1}".into(),
            422,
            json!("valeu"),
            "unknown field",
        ),
        (
            "/api/studies/s/trials/0/report",
            "{\"step\": -1, \"value\": 1}".into(),
            422,
            json!("step"),
            "invalid value",
        ),
        (
            "/api/studies/s/enqueue",
            "{\"params\": {\"x\": 5}}".into(),
            422,
            json!("params"),
            "outside its domain",
        ),
    ];
    for (path, body, status, field, needle) in cases {
        let (s, f, e) = refused(&mut c, path, &body);
        assert_eq!((s, &f), (status, &field), "{path} {body}: {e}");
        assert!(e.contains(needle), "{path} {body}: {e}");
    }
    // Told with the wrong count of values: refused, and the lease stays for a correct tell.
    let n = c.post("/api/studies/s/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    let (s, f, e) = refused(
        &mut c,
        &format!("/api/studies/s/trials/{n}/tell"),
        "{\"values\": [1, 2]}",
    );
    assert_eq!((s, f), (422, json!("values")), "{e}");
    assert!(e.contains("1 objective(s) but 2"), "{e}");
    let (s, f, _) = refused(&mut c, &format!("/api/studies/s/trials/{n}/tell"), "{}");
    assert_eq!((s, f), (400, json!("values")));
    assert_eq!(
        c.post(
            &format!("/api/studies/s/trials/{n}/tell"),
            "{\"value\": 0.5}"
        )
        .status,
        200
    );

    let big = format!("{{\"params\": {{\"x\": \"{}\"}}}}", "a".repeat(10_000));
    assert_eq!(c.post("/api/studies/s/enqueue", &big).status, 413);
    let r = c.send(
        "POST",
        "/api/studies",
        Some("name=t"),
        "application/x-www-form-urlencoded",
    );
    assert_eq!(r.status, 415, "{}", r.body);
    let r = c.post("/api/studies/nope/ask", "");
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("no study `nope`")
    );
    assert_eq!(c.get("/nowhere").status, 404);
    // Still serving, on the same connection.
    assert_eq!(c.post("/api/studies/s/ask", "").status, 200);
    let spec = c.get("/openapi.json").json();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/studies/{name}/ask"]["post"].is_object());
    assert!(spec["paths"]["/api/studies/{name}/trials/{number}/suggest"]["post"].is_object());
    assert!(spec["components"]["schemas"]["Pruner"].is_object());
}

#[test]
fn a_token_is_required_beyond_loopback_and_checked() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::new("sqlite://unused.db");
    config.bind = SocketAddr::from(([0, 0, 0, 0], 0));
    let e = rt
        .block_on(Server::bind(config, Registry::bundled()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("--token") && e.contains("HYPERPLUG_TOKEN"),
        "{e}"
    );
    drop(rt);

    let secret = "s3cret-token-0123456789";
    let server = Running::start(|c| {
        c.bind = SocketAddr::from(([0, 0, 0, 0], 0));
        c.token = Some(Token::new(secret).unwrap());
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    let mut c = Client::connect(addr);
    let r = c.get("/api/studies");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert!(!r.body.contains(secret));
    c.headers = vec![(
        "Authorization".into(),
        "Bearer s3cret-token-0123456780".into(),
    )];
    assert_eq!(c.get("/api/studies").status, 401, "one character off");
    c.headers = vec![("Authorization".into(), format!("Bearer {secret}"))];
    assert_eq!(c.get("/api/studies").status, 200);
    // A link with the token sets the cookie and leads to the page without it.
    c.headers.clear();
    let r = c.get(&format!("/?token={secret}"));
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(c.get(&format!("/?token={secret}x")).status, 401);
    c.headers = vec![("Cookie".into(), cookie)];
    let r = c.get("/");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<h1>Studies</h1>"));
}

/// Without a token, a page of another site that a browser on this machine opens must not drive
/// the server: not by a cross-site request (its `Origin`), nor by DNS rebinding (a name of the
/// attacker's that resolves to 127.0.0.1: its `Host`).
#[test]
fn without_a_token_only_loopback_names_and_origins_are_served() {
    let server = Running::start(|_| {});
    let port = server.addr.port();
    let mut c = server.client();
    create_study(&mut c, "s", 100);
    let ask = |c: &mut Client, headers: &[(&str, &str)]| {
        c.headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        c.post("/api/studies/s/ask", "")
    };
    for foreign in [
        vec![("Host", format!("evil.example:{port}"))],
        vec![("Host", "127.0.0.1.evil.example".to_owned())],
        vec![("Origin", "http://evil.example".to_owned())],
        vec![("Origin", "null".to_owned())],
        vec![
            ("Host", format!("evil.example:{port}")),
            ("Origin", format!("http://evil.example:{port}")),
        ],
    ] {
        let headers: Vec<(&str, &str)> = foreign.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = ask(&mut c, &headers);
        assert_eq!(r.status, 403, "{foreign:?}: {}", r.body);
        let e = r.json()["error"].as_str().unwrap().to_owned();
        assert!(e.contains("127.0.0.1") && e.contains("--token"), "{e}");
        let r = {
            c.headers = foreign
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            c.get("/api/studies")
        };
        assert_eq!(r.status, 403, "{foreign:?}: reads too");
    }
    for own in [
        vec![("Host", format!("127.0.0.1:{port}"))],
        vec![("Host", format!("[::1]:{port}"))],
        vec![("Host", "LocalHost".to_owned())],
        vec![
            ("Host", format!("localhost:{port}")),
            ("Origin", format!("http://localhost:{port}")),
        ],
        vec![("Origin", format!("http://127.0.0.1:{port}"))],
    ] {
        let headers: Vec<(&str, &str)> = own.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(ask(&mut c, &headers).status, 200, "{own:?}");
    }

    // With a token, any name serves (a proxy in front): the token is what keeps others out.
    let secret = "s3cret-token-0123456789";
    let server = Running::start(|c| c.token = Some(Token::new(secret).unwrap()));
    let mut c = server.client();
    c.headers = vec![
        ("Authorization".into(), format!("Bearer {secret}")),
        ("Host".into(), "hyperplug.example".into()),
    ];
    assert_eq!(c.get("/api/studies").status, 200);
}

#[test]
fn a_storage_url_the_server_refuses_is_shown_without_its_password() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A schema name the store refuses, so that binding fails on the URL itself.
    let config = Config::new("postgres://hp:hunter2-secret@db.example/studies?schema=1bad");
    let e = rt
        .block_on(Server::bind(config, Registry::bundled()))
        .err()
        .unwrap();
    let shown = format!("{e:#}");
    assert!(shown.contains("schema `1bad`"), "{shown}");
    assert!(shown.contains("postgres://hp:***@db.example"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn a_lease_untouched_for_the_timeout_is_told_failed() {
    let server = Running::start(|c| c.lease_timeout = Duration::from_secs(1));
    let mut c = server.client();
    create_study(&mut c, "silent", 5);
    let n = c.post("/api/studies/silent/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    // A client that keeps reporting keeps its lease past the timeout.
    let kept = c.post("/api/studies/silent/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    for step in 0..12 {
        std::thread::sleep(Duration::from_millis(150));
        let r = c.post_json(
            &format!("/api/studies/silent/trials/{kept}/report"),
            json!({"step": step, "value": 1.0}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // `kept` was touched 150 ms ago: still lent; `n` was not for 1.8 s.
    let r = c.post_json(
        &format!("/api/studies/silent/trials/{kept}/tell"),
        json!({"value": 1.0}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.post_json(
        &format!("/api/studies/silent/trials/{n}/tell"),
        json!({"value": 1.0}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let study = c.get("/api/studies/silent").json();
    let t = &study["trials"][n as usize];
    assert_eq!(t["state"], "failed");
    assert!(
        t["message"].as_str().unwrap().contains("lease expired"),
        "{t}"
    );
}

#[test]
fn a_flood_from_one_client_is_answered_429() {
    let server = Running::start(|c| c.rate_limit = 5);
    let mut c = server.client();
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = (0..40).map(|_| c.get("/api/studies").status).collect();
    // A burst of two seconds' worth (10) passes, plus what refilled meanwhile at 5 per second.
    let refilled = (started.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        (10..=10 + refilled).contains(&ok),
        "{ok} passed: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let r = (0..40)
        .map(|_| c.get("/api/studies"))
        .find(|r| r.status == 429)
        .unwrap();
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.json()["error"].as_str().unwrap().contains("slow down"));
}

/// A client that opens connections and never finishes a request (slowloris) must not hold them,
/// or a few hundred such connections use up the server's file descriptors; a page's event
/// stream, which sends nothing once asked, stays open.
#[test]
fn a_connection_without_a_whole_request_head_is_closed_and_event_streams_stay() {
    use std::io::{Read, Write};
    let server = Running::start(|c| c.header_timeout = Duration::from_millis(500));
    let mut c = server.client();
    create_study(&mut c, "slow", 10);
    let mut events = Events::open(server.addr, "/studies/slow/events");
    assert_eq!(events.next().0, "summary");
    for sent in ["", "GET /api/studies HTTP/1.1\r\nHost: localhost\r\n"] {
        let mut s = std::net::TcpStream::connect(server.addr).unwrap();
        s.write_all(sent.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        let closed = s.read_to_end(&mut buf);
        assert!(
            closed.is_ok(),
            "{sent:?}: still open after {:?}",
            started.elapsed()
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{sent:?}");
    }
    // Past the timeout, the page still gets what changes (`c` was idle past it: closed too).
    let mut c = server.client();
    let n = c.post("/api/studies/slow/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    let _ = c.post_json(
        &format!("/api/studies/slow/trials/{n}/tell"),
        json!({"value": 1.0}),
    );
    loop {
        let (event, data) = events.next();
        if event == "summary" && data.contains("\"complete\"") {
            break;
        }
    }
}

#[test]
fn the_event_stream_pushes_a_finished_trial_and_redrawn_plots() {
    let server = Running::start(|_| {});
    let mut c = server.client();
    create_study(&mut c, "live", 10);
    let mut events = Events::open(server.addr, "/studies/live/events");
    let (first, data) = events.next();
    assert_eq!(first, "summary", "{data}");
    let (second, data) = events.next();
    assert_eq!(second, "figures");
    assert!(data.contains("fig-history"), "{data}");
    // Then, once, every trial for the trial table (none yet).
    let (third, data) = events.next();
    assert_eq!(third, "table");
    let table: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(table["rows"], json!([]), "{data}");
    assert_eq!(table["params"], json!(["x", "act"]), "{data}");

    let n = c.post("/api/studies/live/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    c.post_json(
        &format!("/api/studies/live/trials/{n}/tell"),
        json!({"value": 0.125}),
    );
    let mut seen_complete = false;
    let mut redrawn = false;
    while !(seen_complete && redrawn) {
        let (event, data) = events.next();
        let d: serde_json::Value = serde_json::from_str(&data).unwrap();
        match event.as_str() {
            "summary" => {
                if d["trials"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["number"] == n && t["state"] == "complete")
                {
                    assert_eq!(d["counts"]["complete"], 1);
                    assert_eq!(d["best_trials"][0]["values"][0], 0.125);
                    seen_complete = true;
                }
            }
            "figures" => redrawn = seen_complete && d["html"].as_str().unwrap().contains("<svg"),
            other => panic!("unexpected event {other}"),
        }
    }
}

/// A page open on a study holds its event stream for as long as it stays open; stopping the
/// server (Ctrl-C) must not wait for every such page to close.
#[test]
fn the_server_stops_while_a_page_watches_and_fails_its_open_leases() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}", dir.path().join("studies.db").display());
    let server = Running::at(&storage, |_| {});
    let mut c = server.client();
    create_study(&mut c, "watched", 10);
    let mut events = Events::open(server.addr, "/studies/watched/events");
    assert_eq!(events.next().0, "summary");
    let n = c.post("/api/studies/watched/ask", "").json()["number"]
        .as_u64()
        .unwrap();
    let (stopped, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(server);
        let _ = stopped.send(());
    });
    assert!(
        done.recv_timeout(Duration::from_secs(10)).is_ok(),
        "the server still runs with a page open"
    );
    drop(events);
    let server = Running::at(&storage, |_| {});
    let study = server.client().get("/api/studies/watched").json();
    let t = &study["trials"][n as usize];
    assert_eq!(t["state"], "failed", "{t}");
    assert!(
        t["message"].as_str().unwrap().contains("server stopped"),
        "{t}"
    );
}

#[test]
fn the_dashboard_follows_a_worker_writing_to_postgresql() {
    let Some(pg) = PgTestSchema::new("dashboard") else {
        return;
    };
    // A worker of its own, beside the server: its own connections to the store.
    let space = Space::new(vec![Param::new("x", Domain::float(-1.0, 1.0))]).unwrap();
    let config = StudyConfig::new("pg", space, vec![Direction::Minimize]).seed(3);
    let worker = SharedStudy::create(
        &pg.url,
        config,
        "random",
        None,
        &Settings::default(),
        None,
        Some(20),
        &Registry::bundled(),
    )
    .unwrap();
    let run = |k: usize| {
        for _ in 0..k {
            let lease = worker.ask().unwrap().unwrap();
            let x = lease.params()["x"].as_f64().unwrap();
            lease.tell(Ok((x * x).into())).unwrap();
        }
    };
    run(5);
    let server = Running::start(|c| c.storage = pg.url.clone());
    let mut events = Events::open(server.addr, "/studies/pg/events");
    let (event, data) = events.next();
    assert_eq!(event, "summary");
    let d: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(d["counts"]["complete"], 5);
    let mut lease = worker.ask().unwrap();
    let n = lease.as_ref().unwrap().number();
    let mut states = Vec::new();
    while states.last().map(String::as_str) != Some("complete") {
        let (event, data) = events.next();
        if event != "summary" {
            continue;
        }
        let d: serde_json::Value = serde_json::from_str(&data).unwrap();
        if let Some(t) = d["trials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["number"] == n)
        {
            let state = t["state"].as_str().unwrap().to_owned();
            if let Some(l) = lease.take().filter(|_| state == "running") {
                // Seen running: now let it finish.
                l.tell(Ok(0.5.into())).unwrap();
            }
            states.push(state);
        }
    }
    assert_eq!(states, ["running", "complete"]);
}

/// One define-by-run client: asks until the budget is spent, suggesting `x`, then `kind`, then
/// a parameter only its branch of `kind` has; the numbers it got.
fn work_define_by_run(c: &mut Client, name: &str) -> Vec<u64> {
    let mut numbers = Vec::new();
    loop {
        let a = c.post(&format!("/api/studies/{name}/ask"), "").json();
        if a["done"] == true {
            return numbers;
        }
        assert_eq!(a["define_by_run"], true, "{a}");
        assert_eq!(a["params"], json!({}), "nothing suggested yet: {a}");
        let n = a["number"].as_u64().expect("a number");
        let path = format!("/api/studies/{name}/trials/{n}/suggest");
        let mut suggest = |body: serde_json::Value| {
            let r = c.post_json(&path, body);
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["value"].clone()
        };
        let x = suggest(json!({"name": "x", "float": [-2.0, 2.0]}));
        let x = x.as_f64().expect("a float");
        assert!((-2.0..=2.0).contains(&x));
        let again = suggest(json!({"name": "x", "float": [-2.0, 2.0]}));
        assert_eq!(
            again.as_f64(),
            Some(x),
            "a name suggested again keeps its value"
        );
        let kind = suggest(json!({"name": "kind", "choice": ["a", "b"]}));
        let extra = match kind.as_str().expect("a choice") {
            "a" => suggest(json!({"name": "depth", "int": [1, 8]}))
                .as_f64()
                .expect("a number"),
            _ => suggest(json!({"name": "lr", "float": [1e-4, 1.0], "log": true}))
                .as_f64()
                .expect("a number"),
        };
        let t = c.post_json(
            &format!("/api/studies/{name}/trials/{n}/tell"),
            json!({"value": x * x + extra * 1e-3}),
        );
        assert_eq!(t.status, 200, "{}", t.body);
        let t = t.json();
        assert_eq!(t["params"]["x"].as_f64(), Some(x), "{t}");
        assert_eq!(t["params"]["kind"], kind, "{t}");
        numbers.push(n);
    }
}

#[test]
fn sixteen_define_by_run_clients_get_distinct_numbers_and_grow_the_stored_space() {
    let server = Running::start(|_| {});
    let mut c = server.client();
    let r = c.post_json(
        "/api/studies",
        json!({"name": "dbr", "strategy": "tpe", "trials": 160, "seed": 3}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["define_by_run"], true, "no space: define-by-run");
    assert_eq!(r.json()["space"], json!([]), "{}", r.body);
    let numbers: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| s.spawn(|| work_define_by_run(&mut server.client(), "dbr")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<u64> = numbers.iter().flatten().copied().collect();
    let distinct: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 160, "exactly the budget was lent");
    assert_eq!(distinct, (0..160).collect(), "numbers 0..160, none twice");

    let record = SharedStudy::stored(&server.storage, "dbr")
        .unwrap()
        .unwrap();
    let mut names: Vec<&str> = record
        .space
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["depth", "kind", "lr", "x"],
        "every suggested name is stored"
    );
    assert!(record.define_by_run);
    assert_eq!(
        record.space.get("lr").unwrap().domain,
        Domain::Float {
            low: 1e-4,
            high: 1.0,
            log: true,
            step: None
        }
    );
    let study = c.get("/api/studies/dbr").json();
    assert_eq!(study["counts"]["complete"], 160);
    let trials = study["trials"].as_array().unwrap();
    // A trial holds only the parameters its branch suggested.
    for t in trials {
        let p = t["params"].as_object().unwrap();
        let branch = if p["kind"] == "a" { "depth" } else { "lr" };
        assert!(p.contains_key(branch), "{t}");
        assert_eq!(p.len(), 3, "{t}");
    }
    // The strategy learned the space: later trials (TPE over the known space) are better on
    // average than the first ones (drawn at random while the space was unknown).
    let mean = |ts: &[serde_json::Value]| {
        ts.iter()
            .map(|t| t["values"][0].as_f64().unwrap())
            .sum::<f64>()
            / ts.len() as f64
    };
    let mut by_number = trials.clone();
    by_number.sort_by_key(|t| t["number"].as_u64());
    assert!(
        mean(&by_number[120..]) < mean(&by_number[..40]),
        "{} vs {}",
        mean(&by_number[120..]),
        mean(&by_number[..40])
    );
}

#[test]
fn define_by_run_refusals_name_the_field() {
    let server = Running::start(|_| {});
    let mut c = server.client();
    let r = c.post_json(
        "/api/studies",
        json!({"name": "d", "strategy": "random", "define_by_run": true, "trials": 10,
               "space": {"x": {"float": [0.0, 1.0]}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["define_by_run"], true);
    let ask = |c: &mut Client| {
        c.post("/api/studies/d/ask", "").json()["number"]
            .as_u64()
            .unwrap()
    };
    let n = ask(&mut c);
    let at = format!("/api/studies/d/trials/{n}/suggest");
    // Bad bodies, field by field.
    for (body, status, field) in [
        (r#"{"float": [0, 1]}"#, 422, "name"),
        (r#"{"name": 3, "float": [0, 1]}"#, 422, "name"),
        (r#"{"name": "", "float": [0, 1]}"#, 422, "name"),
        (r#"{"name": "y", "float": [1]}"#, 422, "float"),
        (r#"{"name": "y", "float": [2, 1]}"#, 422, "float"),
        (r#"{"name": "y", "int": [0, 3], "log": "yes"}"#, 422, "log"),
        (r#"{"name": "y", "log": true, "float": [0, 1]}"#, 422, "log"),
        (r#"{"name": "y", "uniform": [0, 1]}"#, 422, "uniform"),
        (r#"{"name": "y", "choice": []}"#, 422, "choice"),
        (
            r#"{"name": "y", "int": [0, 3], "when": {"x": [0]}}"#,
            422,
            "when",
        ),
        (
            r#"{"name": "y", "repeat": [1, 3], "u": {"int": [1, 2]}}"#,
            422,
            "repeat",
        ),
        (r#"{"name": "x", "int": [0, 3]}"#, 422, "name"),
    ] {
        let (status_got, field_got, error) = refused(&mut c, &at, body);
        assert_eq!(
            (status_got, field_got.as_str()),
            (status, Some(field)),
            "{body}: {error}"
        );
    }
    let (s, _, e) = refused(&mut c, &at, "{not json");
    assert_eq!(s, 400, "{e}");
    // A known name with another distribution names both.
    let (_, _, e) = refused(&mut c, &at, r#"{"name": "x", "int": [0, 3]}"#);
    assert!(e.contains("`x`") && e.contains("another name"), "{e}");
    // A new name in one trial, then another distribution for it in a later one.
    let y = c.post_json(&at, json!({"name": "y", "int": [0, 3]}));
    assert_eq!(y.status, 200, "{}", y.body);
    let told = c.post_json(
        &format!("/api/studies/d/trials/{n}/tell"),
        json!({"value": 1.0}),
    );
    assert_eq!(told.status, 200, "{}", told.body);
    let (s, f, _) = refused(&mut c, &at, r#"{"name": "z", "float": [0, 1]}"#);
    assert_eq!((s, f.as_str()), (409, Some("number")), "suggest after tell");
    let m = ask(&mut c);
    let (s, f, e) = refused(
        &mut c,
        &format!("/api/studies/d/trials/{m}/suggest"),
        r#"{"name": "y", "float": [0, 3]}"#,
    );
    assert_eq!((s, f.as_str()), (422, Some("name")), "{e}");
    let (s, f, _) = refused(
        &mut c,
        "/api/studies/d/trials/999/suggest",
        r#"{"name": "z", "float": [0, 1]}"#,
    );
    assert_eq!((s, f.as_str()), (409, Some("number")), "an unknown trial");
    let (s, f, _) = refused(
        &mut c,
        "/api/studies/d/trials/x1/suggest",
        r#"{"name": "z", "float": [0, 1]}"#,
    );
    assert_eq!((s, f.as_str()), (400, Some("number")));
    // The refused suggestions left trial m usable.
    let ok = c.post_json(
        &format!("/api/studies/d/trials/{m}/suggest"),
        json!({"name": "y", "int": [0, 3]}),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);

    // A fixed-space study's trials come whole.
    create_study(&mut c, "fixed", 5);
    let f = c.post("/api/studies/fixed/ask", "").json();
    assert_eq!(f["define_by_run"], false);
    let k = f["number"].as_u64().unwrap();
    let (s, field, e) = refused(
        &mut c,
        &format!("/api/studies/fixed/trials/{k}/suggest"),
        r#"{"name": "z", "float": [0, 1]}"#,
    );
    assert_eq!((s, field.as_str()), (422, Some("name")));
    assert!(e.contains("fixed space"), "{e}");
    // A fixed space needs one.
    let (s, field, _) = refused(
        &mut c,
        "/api/studies",
        r#"{"name": "e", "strategy": "random", "define_by_run": false}"#,
    );
    assert_eq!((s, field.as_str()), (400, Some("space")));
    let (s, field, _) = refused(
        &mut c,
        "/api/studies",
        r#"{"name": "e", "strategy": "random", "space": {}}"#,
    );
    assert_eq!((s, field.as_str()), (400, Some("space")));
    // Enqueued values for names not known yet are kept for the code to suggest.
    let q = c.post_json("/api/studies/d/enqueue", json!({"params": {"w": 0.25}}));
    assert_eq!(q.status, 202, "{}", q.body);
    let w = ask(&mut c);
    let v = c.post_json(
        &format!("/api/studies/d/trials/{w}/suggest"),
        json!({"name": "w", "float": [0.0, 1.0]}),
    );
    assert_eq!(v.json()["value"], 0.25, "{}", v.body);
}

/// Reports a learning curve (`scale / (step + 1)` for steps 0..5) and tells it, or tells it
/// pruned when the server says so; whether it was pruned.
fn curve(c: &mut Client, study: &str, scale: f64) -> bool {
    let a = c.post(&format!("/api/studies/{study}/ask"), "").json();
    let n = a["number"].as_u64().expect("a number");
    for step in 0..5u64 {
        let value = scale / (step + 1) as f64;
        let r = c.post_json(
            &format!("/api/studies/{study}/trials/{n}/report"),
            json!({"step": step, "value": value}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        if r.json()["prune"] == true {
            let t = c.post_json(
                &format!("/api/studies/{study}/trials/{n}/tell"),
                json!({"state": "pruned"}),
            );
            assert_eq!(t.json()["state"], "pruned");
            return true;
        }
    }
    let t = c.post_json(
        &format!("/api/studies/{study}/trials/{n}/tell"),
        json!({"value": scale / 5.0}),
    );
    assert_eq!(t.json()["state"], "complete", "{}", t.body);
    false
}

#[test]
fn a_median_pruner_given_over_http_prunes_bad_trials_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}", dir.path().join("pruned.db").display());
    let body = |name: &str, pruner: serde_json::Value| {
        json!({"name": name, "strategy": "random", "trials": 50,
               "space": {"x": {"float": [0.0, 1.0]}}, "pruner": pruner})
    };
    {
        let server = Running::at(&storage, |_| {});
        let mut c = server.client();
        // Refusals name the pruner's field, and store nothing.
        for (pruner, field) in [
            (json!({"name": "no-such"}), "pruner.name"),
            (
                json!({"name": "median", "library": "nowhere"}),
                "pruner.library",
            ),
            (
                json!({"name": "median", "settings": {"n_startup": 2}}),
                "pruner.settings",
            ),
            (
                json!({"name": "median", "settings": {"n_startup_trials": "two"}}),
                "pruner.settings",
            ),
            (json!({"settings": {}}), "pruner.name"),
            (json!("median"), "pruner"),
        ] {
            let r = c.post_json("/api/studies", body("p", pruner.clone()));
            assert_eq!(r.status, 422, "{pruner}: {}", r.body);
            assert_eq!(r.json()["field"], field, "{pruner}: {}", r.body);
        }
        assert_eq!(c.get("/api/studies/p").status, 404, "nothing stored");

        let r = c.post_json(
            "/api/studies",
            body(
                "p",
                json!({"name": "median", "settings": {"n_startup_trials": 3}}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["pruner"]["name"], "median");
        for _ in 0..3 {
            assert!(!curve(&mut c, "p", 1.0), "startup trials run to the end");
        }
        assert!(curve(&mut c, "p", 50.0), "worse than the median: pruned");
        assert!(!curve(&mut c, "p", 0.5), "better than the median: runs on");
    }
    // A new server on the same file loads the study with its pruner.
    let server = Running::at(&storage, |_| {});
    let mut c = server.client();
    assert!(curve(&mut c, "p", 80.0), "still pruned after the restart");
    assert!(!curve(&mut c, "p", 0.4), "a good one still runs");
    let study = c.get("/api/studies/p").json();
    assert_eq!(study["counts"]["pruned"], 2);
    assert_eq!(study["counts"]["complete"], 5);
}

#[test]
fn a_two_objective_study_reports_vectors_and_its_pareto_pruner_stops_dominated_trials() {
    let server = Running::start(|_| {});
    let mut c = server.client();
    let r = c.post_json(
        "/api/studies",
        json!({"name": "mo", "strategy": "random", "directions": ["minimize", "minimize"],
               "space": {"x": {"float": [0.0, 1.0]}},
               "pruner": {"name": "pareto", "settings": {"n_startup_trials": 3}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Runs a trial whose vector at every step is `(a, b)`; whether it was pruned.
    let run = |c: &mut Client, a: f64, b: f64| {
        let n = c.post("/api/studies/mo/ask", "").json()["number"]
            .as_u64()
            .expect("a number");
        let path = |what: &str| format!("/api/studies/mo/trials/{n}/{what}");
        for step in 0..3u64 {
            let r = c.post_json(&path("report"), json!({"step": step, "values": [a, b]}));
            assert_eq!(r.status, 200, "{}", r.body);
            if r.json()["prune"] == true {
                let t = c.post_json(&path("tell"), json!({"state": "pruned"}));
                assert_eq!(t.json()["state"], "pruned", "{}", t.body);
                return true;
            }
        }
        let t = c.post_json(&path("tell"), json!({"values": [a, b]}));
        assert_eq!(t.json()["state"], "complete", "{}", t.body);
        false
    };
    for (a, b) in [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)] {
        assert!(!run(&mut c, a, b), "start-up trials run to the end");
    }
    assert!(
        run(&mut c, 4.0, 4.0),
        "dominated by every complete trial: pruned"
    );
    assert!(!run(&mut c, 0.5, 5.0), "best in one objective: runs on");

    // A vector of the wrong length, both or neither: 4xx naming the field. (One `value` in a
    // study with several objectives is recorded and not judged, as the engine documents.)
    let n = c.post("/api/studies/mo/ask", "").json()["number"]
        .as_u64()
        .expect("a number");
    let report = format!("/api/studies/mo/trials/{n}/report");
    for (body, status, field) in [
        (json!({"step": 0, "values": [1.0, 2.0, 3.0]}), 422, "values"),
        (
            json!({"step": 0, "value": 1.0, "values": [1.0, 2.0]}),
            400,
            "value",
        ),
        (json!({"step": 0}), 400, "value"),
        (json!({"step": 0, "values": []}), 400, "value"),
    ] {
        let r = c.post_json(&report, body.clone());
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.json()["field"], field, "{body}: {}", r.body);
    }
}

#[test]
fn a_define_by_run_lease_expires_too_and_suggesting_keeps_it() {
    let server = Running::start(|c| c.lease_timeout = Duration::from_secs(1));
    let mut c = server.client();
    let r = c.post_json(
        "/api/studies",
        json!({"name": "quiet", "strategy": "random", "trials": 5}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ask = |c: &mut Client| {
        c.post("/api/studies/quiet/ask", "").json()["number"]
            .as_u64()
            .unwrap()
    };
    let silent = ask(&mut c);
    let r = c.post_json(
        &format!("/api/studies/quiet/trials/{silent}/suggest"),
        json!({"name": "x", "float": [0.0, 1.0]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let kept = ask(&mut c);
    for _ in 0..12 {
        std::thread::sleep(Duration::from_millis(150));
        let r = c.post_json(
            &format!("/api/studies/quiet/trials/{kept}/suggest"),
            json!({"name": "x", "float": [0.0, 1.0]}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = c.post_json(
        &format!("/api/studies/quiet/trials/{kept}/tell"),
        json!({"value": 1.0}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.post_json(
        &format!("/api/studies/quiet/trials/{silent}/tell"),
        json!({"value": 1.0}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let study = c.get("/api/studies/quiet").json();
    let t = &study["trials"][silent as usize];
    assert_eq!(t["state"], "failed");
    assert!(
        t["message"].as_str().unwrap().contains("lease expired"),
        "{t}"
    );
    assert!(t["params"]["x"].is_number(), "its suggestion is kept: {t}");
}

/// A create without `seed` opens a stored study with the seed it stores (another process's
/// create may have made it first); a `seed` given replaces it.
#[test]
fn a_create_without_a_seed_keeps_the_stored_one() {
    let server = Running::start(|_| {});
    create_study(&mut server.client(), "kept", 10);
    let again = |seed: Option<u64>| {
        let mut body = json!({
            "name": "kept",
            "strategy": "random",
            "direction": "minimize",
            "space": { "x": { "float": [-1.0, 1.0] }, "act": { "choice": ["relu", "tanh"] } },
        });
        if let Some(s) = seed {
            body["seed"] = json!(s);
        }
        let r = server.client().post_json("/api/studies", body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["seed"].clone()
    };
    assert_eq!(again(None), 7, "the stored seed");
    assert_eq!(again(Some(9)), 9, "a seed given replaces it");
    assert_eq!(again(None), 9);
    assert_eq!(
        server.client().get("/api/studies/kept").json()["study"]["seed"],
        9
    );
}

#[test]
fn every_answer_says_its_type_is_final_and_a_page_runs_only_served_scripts() {
    let server = Running::start(|_| {});
    let mut c = server.client();
    let name = "<b>\"it's</script>";
    create_study(&mut c, name, 3);
    let path = "/studies/%3Cb%3E%22it%27s%3C%2Fscript%3E";
    for (at, status, kind) in [
        ("/", 200, "text/html"),
        (path, 200, "text/html"),
        ("/studies/nothing", 404, "application/json"),
        ("/api/studies", 200, "application/json"),
        ("/no/such/page", 404, "application/json"),
        ("/assets/report.js", 200, "text/javascript"),
        ("/assets/dashboard.js", 200, "text/javascript"),
    ] {
        let r = c.get(at);
        assert_eq!(r.status, status, "{at}: {}", r.body);
        assert!(r.header("content-type").unwrap().starts_with(kind), "{at}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{at}");
        let policy = r.header("content-security-policy").unwrap_or_default();
        for directive in ["script-src 'self';", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{at}: {policy}");
        }
    }
    let page = c.get(path).body;
    assert!(
        page.contains("<h1>&lt;b&gt;&quot;it's&lt;/script&gt;</h1>"),
        "{page}"
    );
    // The policy forbids inline script: every script is a served file, or data.
    for tag in page.split("<script").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        assert!(
            tag.contains(" src=\"/assets/") || tag.contains("type=\"application/json\""),
            "{tag}"
        );
    }
    assert!(c.get("/assets/dashboard.js").body.contains("EventSource"));
}
