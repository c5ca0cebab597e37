//! Control endpoints (log, reset), the library helpers and the binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::start;
use fake_stripe::{Catalog, DEFAULT_API_KEY};
use serde_json::json;

#[test]
fn request_log_records_api_requests_in_order() {
    let fx = start(Catalog::Demo);
    fx.get("products?limit=100&starting_after=prod_x&created[gt]=5");
    fx.post("products", &[("name", "A b"), ("metadata[k]", "v=1")]);
    fx.control("GET", "/__faults", None);
    common::send(fx.http.get(fx.server.base_url() + "/prices"));
    let log = fx.control("GET", "/__log", None);
    assert_eq!(
        log.body,
        json!([
            {"method":"GET","path":"/v1/products","query":[["limit","100"],["starting_after","prod_x"],["created[gt]","5"]],"status":400},
            {"method":"POST","path":"/v1/products","query":[],"form":[["name","A b"],["metadata[k]","v=1"]],"status":200},
            {"method":"GET","path":"/v1/prices","query":[],"status":401}
        ])
    );
    assert_eq!(fx.server.log().len(), 3);
    assert_eq!(fx.control("DELETE", "/__log", None).status, 200);
    assert_eq!(fx.control("GET", "/__log", None).body, json!([]));
    fx.get("prices");
    fx.server.clear_log();
    assert!(fx.server.log().is_empty());
}

#[test]
fn reset_variants() {
    let fx = start(Catalog::Demo);
    fx.post("products", &[("name", "extra")]);
    fx.faults(json!({"rules":[{"kind":"status","status":500}]}));
    let r = fx.control(
        "POST",
        "/__reset",
        Some(json!({"products": 25, "prices_per_product": 2, "seed": 9})),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(fx.server.counts(), (25, 50));
    assert_eq!(fx.get("products").status, 200, "faults cleared");
    assert_eq!(fx.server.log().len(), 1);
    fx.control("POST", "/__reset", Some(json!({"catalog": "empty"})));
    assert_eq!(fx.server.counts(), (0, 0));
    assert!(fx.server.log().is_empty(), "log cleared");
    fx.control("POST", "/__reset", Some(json!({})));
    assert_eq!(fx.server.counts(), (4, 9), "back to the starting catalog");
    fx.control("POST", "/__reset", None);
    assert_eq!(fx.server.counts(), (4, 9));
    assert_eq!(
        fx.control("POST", "/__reset", Some(json!({"catalog": "huge"})))
            .status,
        400
    );
    fx.server.reset(&Catalog::Empty).unwrap();
    assert_eq!(fx.server.counts(), (0, 0));
}

#[test]
fn file_catalog_round_trips() {
    let src = start(Catalog::Demo);
    let products = src.all("products", "");
    let prices = src.all("prices", "");
    let dir = std::env::temp_dir().join(format!("fake_stripe_file_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("catalog.json");
    std::fs::write(
        &path,
        json!({"products": products, "prices": prices}).to_string(),
    )
    .unwrap();
    let fx = start(Catalog::File(path.clone()));
    assert_eq!(fx.all("products", ""), products);
    assert_eq!(fx.all("prices", ""), prices);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn server_stops_on_drop() {
    let fx = start(Catalog::Empty);
    let port = fx.server.port();
    assert_eq!(fx.server.base_url(), format!("http://127.0.0.1:{port}/v1"));
    drop(fx);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Start the fake_stripe binary; it must print `listening on http://127.0.0.1:PORT` first.
fn spawn_binary(args: &[&str]) -> (std::process::Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake_stripe"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("bad line {line:?}"))
        .parse()
        .unwrap();
    (child, port)
}

#[test]
fn binary_prints_port_serves_and_exits_on_sigterm() {
    let (mut child, port) = spawn_binary(&[
        "--port",
        "0",
        "--catalog",
        "demo",
        "--api-key",
        "sk_test_one",
        "--api-key",
        DEFAULT_API_KEY,
    ]);
    let c = reqwest::blocking::Client::new();
    let r = c
        .get(format!("http://127.0.0.1:{port}/v1/products"))
        .bearer_auth("sk_test_one")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 4);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn binary_generated_catalog_flags() {
    let (mut child, port) = spawn_binary(&[
        "--products",
        "12",
        "--prices-per-product",
        "2",
        "--seed",
        "5",
    ]);
    let r = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/prices?limit=100"))
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 24);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn expect_100_continue_is_answered() {
    use std::io::{Read, Write};
    let fx = start(Catalog::Demo);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", fx.server.port())).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let body = "name=Continued";
    write!(
        s,
        "POST /v1/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEFAULT_API_KEY}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 25];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body.as_bytes()).unwrap();
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 200 OK"), "{rest}");
    assert!(rest.contains("\"name\": \"Continued\""));
}
