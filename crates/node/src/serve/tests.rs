//! The API's connection bounds against real sockets: the cap, the idle and
//! header timeouts, the cap on event streams. Waits are bounded; what
//! passes or fails is what the sockets see.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::{ApiLimits, FILES_RESERVED_MIN, WriteStall, serve_api};
use crate::ledger::{NodeLedger, Shared};

/// Longest any step may take before the test fails.
const BOUND: Duration = Duration::from_secs(20);

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An API served within `limits` on a fresh ledger.
fn serve(limits: ApiLimits) -> (SocketAddr, Scratch) {
    let dir = std::env::temp_dir().join(format!(
        "stigmer-serve-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let genesis = crate::demo::genesis("serve-test", vec!["00".repeat(32)], 1_700_000_000_000);
    let ledger: Shared = Arc::new(Mutex::new(NodeLedger::open(&dir, genesis).unwrap()));
    let listener = crate::run::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    serve_api(listener, ledger, limits).unwrap();
    (address, Scratch(dir))
}

fn limits() -> ApiLimits {
    ApiLimits {
        connections_max: 4,
        event_streams_max: 2,
        idle_timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(10),
        write_stall_timeout: Duration::from_secs(2),
    }
}

/// Sends a GET and reads the status and the head of the answer.
async fn send_get(stream: &mut TcpStream, path: &str, close: bool) {
    let connection = if close { "close" } else { "keep-alive" };
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: {connection}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
}

/// Reads until the end of the head and returns the status and the head.
async fn read_head(stream: &mut TcpStream) -> (u16, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "closed before the end of the head: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head)
}

/// A fresh connection's GET, answered within [`BOUND`]: status and body.
async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    tokio::time::timeout(BOUND, async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        send_get(&mut stream, path, true).await;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap_or_else(|_| panic!("GET {path}: no answer within {BOUND:?}"))
}

/// Whether the server closes `stream` within [`BOUND`] (reading it to the end).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut sink))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let limits = limits();
    let (address, _scratch) = serve(limits.clone());
    // Fill every slot with a connection that says nothing, and check each
    // one was accepted: a kept-alive request on it is answered.
    let mut held = Vec::new();
    for _ in 0..limits.connections_max {
        let mut stream = TcpStream::connect(address).await.unwrap();
        send_get(&mut stream, "/api/v1/status", false).await;
        let (status, _) = tokio::time::timeout(BOUND, read_head(&mut stream))
            .await
            .unwrap();
        assert_eq!(status, 200);
        held.push(stream);
    }
    // One more connects (the kernel's backlog) but is not served while
    // every slot is taken.
    let waiting = tokio::spawn(get(address, "/api/v1/status"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond the cap");
    // A slot frees: it is served.
    held.pop();
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_fresh_ones_served() {
    let limits = ApiLimits {
        idle_timeout: Duration::from_millis(300),
        ..limits()
    };
    let (address, _scratch) = serve(limits.clone());
    // Five times as many silent connections as slots: the first take every
    // slot, the rest wait in the backlog.
    let mut silent = Vec::new();
    for _ in 0..limits.connections_max * 5 {
        silent.push(TcpStream::connect(address).await.unwrap());
    }
    // Each is closed for saying nothing, in turn, and a fresh request is
    // still answered.
    for stream in &mut silent {
        assert!(
            closed_by_server(stream).await,
            "an idle connection stayed open"
        );
    }
    let (status, body) = get(address, "/api/v1/status").await;
    assert_eq!(status, 200, "{body}");

    // A kept-alive connection that goes quiet after an answer is closed too.
    let mut stream = TcpStream::connect(address).await.unwrap();
    send_get(&mut stream, "/api/v1/status", false).await;
    let (status, head) = read_head(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        closed_by_server(&mut stream).await,
        "a kept-alive connection stayed open"
    );

    // So is one that sends its head too slowly.
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut stream).await,
        "a slow head was waited for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_have_their_own_cap() {
    let limits = limits();
    let (address, _scratch) = serve(limits.clone());
    let mut streams = Vec::new();
    for _ in 0..limits.event_streams_max {
        let mut stream = TcpStream::connect(address).await.unwrap();
        send_get(&mut stream, "/api/v1/events", false).await;
        let (status, head) = tokio::time::timeout(BOUND, read_head(&mut stream))
            .await
            .unwrap();
        assert_eq!(status, 200, "{head}");
        streams.push(stream);
    }
    // One more is refused, in JSON, and other requests are still served.
    let (status, body) = get(address, "/api/v1/events").await;
    assert_eq!(status, 503, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("event streams"),
        "{body}"
    );
    assert_eq!(get(address, "/api/v1/status").await.0, 200);
    // A stream that ends frees its slot (noticed at the next keep-alive).
    streams.pop();
    let freed = tokio::time::timeout(BOUND, async {
        loop {
            let mut stream = TcpStream::connect(address).await.unwrap();
            send_get(&mut stream, "/api/v1/events", false).await;
            if read_head(&mut stream).await.0 == 200 {
                return stream;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "the slot of a closed stream was never freed");
}

#[test]
fn the_api_takes_at_most_half_the_descriptors_and_leaves_a_reserve() {
    let limits = ApiLimits::default();
    for open_files in [0, 64, 300, 512, 1024, 4096, 20_000, 1 << 20] {
        let fitted = limits.fit_open_files(open_files);
        assert!(fitted.connections_max >= 1);
        assert!(fitted.connections_max <= limits.connections_max);
        assert!(fitted.event_streams_max <= fitted.connections_max);
        if open_files >= 2 * FILES_RESERVED_MIN {
            assert!(fitted.connections_max as u64 <= open_files / 2);
        }
        if open_files > FILES_RESERVED_MIN + 1 {
            assert!(open_files - fitted.connections_max as u64 >= FILES_RESERVED_MIN);
        }
    }
    // The common 1024 leaves the default cap its 512.
    assert_eq!(limits.fit_open_files(1024).connections_max, 512);
    assert_eq!(limits.fit_open_files(1 << 20), limits);
}

#[test]
fn a_write_stall_is_measured_from_the_first_blocked_write() {
    let stall = WriteStall::new();
    assert_eq!(stall.blocked_for(), Duration::ZERO);
    stall.record(&std::task::Poll::<()>::Pending);
    std::thread::sleep(Duration::from_millis(20));
    // A second blocked write does not restart the clock.
    stall.record(&std::task::Poll::<()>::Pending);
    assert!(stall.blocked_for() >= Duration::from_millis(20));
    // A write that goes through ends the stall.
    stall.record(&std::task::Poll::Ready(()));
    assert_eq!(stall.blocked_for(), Duration::ZERO);
}
