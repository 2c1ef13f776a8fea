//! The CLI against a node that sends text meant to attack a terminal
//! (escape sequences, bidirectional overrides), as an old chain or a
//! hostile node could: every such character is printed escaped, and
//! `--json` output stays JSON.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;

use serde_json::json;

use crate::node::stigmer_bin;

/// Serves fixed answers by path, with a status, until the test ends.
fn hostile_node() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("");
            let (status, body) = answer(path);
            let body = body.to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

const CLEAR_AND_RETITLE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J";

fn answer(path: &str) -> (u16, serde_json::Value) {
    match path {
        "/api/v1/dcs" => (
            200,
            json!({ "dcs": [{
                "id": "fest",
                "name": format!("Festival{CLEAR_AND_RETITLE}"),
                "n_members": 3,
                "n_contributions": 1,
                "token_symbol": "\u{202e}CAF",
            }] }),
        ),
        "/api/v1/dcs/fest/contributions/c1" => (
            200,
            json!({
                "id": "c1",
                "title": format!("Stage{CLEAR_AND_RETITLE}"),
                "contributor": "\u{2066}someone\u{2069}",
                "evaluations": [],
            }),
        ),
        _ => (
            400,
            json!({ "error": format!("refused{CLEAR_AND_RETITLE}") }),
        ),
    }
}

fn run(node: &str, args: &[&str]) -> String {
    let output = Command::new(stigmer_bin())
        .args(args)
        .args(["--node", node])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether `text` holds a character that would act on a terminal.
fn acts_on_terminal(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// Whether a string in `value` holds what the node sent, unescaped.
fn holds_hostile_text(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => acts_on_terminal(text),
        serde_json::Value::Array(items) => items.iter().any(holds_hostile_text),
        serde_json::Value::Object(fields) => fields.values().any(holds_hostile_text),
        _ => false,
    }
}

#[test]
fn what_a_node_sends_is_printed_escaped() {
    let node = hostile_node();
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["dc", "list"],
            &["Festival\\u{1b}]0;owned\\u{7}\\u{1b}[2J", "\\u{202e}CAF"],
        ),
        (
            &["contribution", "fest", "c1"],
            &["Stage\\u{1b}]0;owned", "\\u{2066}someone\\u{2069}"],
        ),
        (&["status"], &["no: refused\\u{1b}]0;owned\\u{7}\\u{1b}[2J"]),
    ];
    for (args, shown) in cases {
        let text = run(&node, args);
        assert!(!acts_on_terminal(&text), "{args:?} printed raw: {text:?}");
        for expected in shown {
            assert!(
                text.contains(expected),
                "{args:?}: {expected} not in {text:?}"
            );
        }
        // JSON escapes them too, and keeps the text as the node sent it.
        let json = run(&node, &[args, &["--json"]].concat());
        assert!(
            !acts_on_terminal(&json),
            "{args:?} --json printed raw: {json:?}"
        );
        let line: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
        assert!(holds_hostile_text(&line), "{args:?}: {line}");
    }
}
