//! `stigmer scenario run` reproduces every conformance vector within the
//! tolerance of `SCENARIOS.md`, and reports bad files clearly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn stigmer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stigmer"))
        .args(args)
        .output()
        .expect("the stigmer binary runs")
}

fn vectors() -> Vec<PathBuf> {
    json_files("vectors")
}

/// The JSON files of `tests/<dir>` at the root of the repository.
fn json_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "the vectors are missing from {}",
        dir.display()
    );
    files
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// Compares one run with the vector's expectations, independently of the
/// binary's own `check`.
fn assert_conforms(expected: &[Value], actual: &[Value], name: &str) {
    assert_eq!(expected.len(), actual.len(), "{name}: number of steps");
    for (step, (want, got)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(got["step"], step, "{name}");
        assert_eq!(
            want["ok"], got["ok"],
            "{name} step {step}: {}",
            got["error"]
        );
        assert_eq!(
            got["ok"] == false,
            got["error"].is_string(),
            "{name} step {step}"
        );
        let (want, got) = (
            want["agents"].as_object().unwrap(),
            got["agents"].as_object().unwrap(),
        );
        assert_eq!(want.len(), got.len(), "{name} step {step}: agents");
        for (agent, figures) in want {
            for key in ["reputation", "tokens"] {
                let (w, g) = (number(&figures[key]), number(&got[agent][key]));
                let error = (w - g).abs();
                assert!(
                    error <= 1e-9 || error <= 1e-9 * w.abs(),
                    "{name} step {step}: {agent}.{key} expected {w}, got {g}"
                );
            }
        }
    }
}

#[test]
fn every_vector_conforms() {
    check_all(vectors());
}

#[test]
fn regression_scenarios_still_hold() {
    check_all(json_files("scenarios"));
}

fn check_all(files: Vec<PathBuf>) {
    for vector in &files {
        let name = vector.file_name().unwrap().to_string_lossy().to_string();
        let scenario: Value =
            serde_json::from_str(&std::fs::read_to_string(vector).unwrap()).unwrap();
        let output = stigmer(&["scenario", "run", vector.to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let actual: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        assert_conforms(scenario["expect"].as_array().unwrap(), &actual, &name);

        let output = stigmer(&["scenario", "run", "--final", vector.to_str().unwrap()]);
        let last: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(last.len(), 1, "{name}: --final prints one step");
        assert_eq!(
            last[0],
            actual[actual.len() - 1],
            "{name}: --final is the last step"
        );
    }
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["scenario", "check"];
    args.extend(paths.iter().map(String::as_str));
    let output = stigmer(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn figures_are_exact_decimals() {
    let vector =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/readme-example.json");
    let output = stigmer(&["scenario", "run", "--final", vector.to_str().unwrap()]);
    let last: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    // 10 + 5 * 100/110, to the last of 18 decimals.
    assert_eq!(
        last[0]["agents"]["ann"]["reputation"],
        "14.545454545454545455"
    );
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stigmer-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn failed_steps_change_nothing_and_the_run_goes_on() {
    let path = write_temp(
        "failing.json",
        r#"{"name": "failing", "dc": {"rules": "backfeed", "contribution_types": {"work": {}}},
            "steps": [
              {"join": {"agent": "ann", "reputation": 10, "tokens": "0.5", "referrer": null}},
              {"contribute": {"agent": "ann", "id": "w1", "type": "work"}},
              {"contribute": {"agent": "ghost", "id": "w1", "type": "work"}},
              {"evaluate": {"agent": "ann", "contribution": "w1", "value": 1}},
              {"join": {"agent": "bo", "reputation": 1, "tokens": 1, "referrer": "nobody"}}
            ]}"#,
    );
    let output = stigmer(&["scenario", "run", path.to_str().unwrap()]);
    assert!(output.status.success());
    let steps: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let oks: Vec<bool> = steps.iter().map(|s| s["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [true, false, false, false, false]);
    assert_eq!(
        steps[1]["error"],
        "not enough tokens: 1 needed, 0.5 available"
    );
    assert_eq!(steps[4]["agents"], steps[0]["agents"]);
}

#[test]
fn invalid_scenarios_are_refused_with_a_clear_message() {
    let check = |name: &str, text: &str, message: &str| {
        let path = write_temp(name, text);
        let output = stigmer(&["scenario", "run", path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}");
    };
    check("not-json.json", "{", "not valid JSON");
    check(
        "no-steps.json",
        r#"{"dc": {"contribution_types": {}}}"#,
        "steps: expected an array",
    );
    check(
        "bad-rules.json",
        r#"{"dc": {"rules": "anarchy", "contribution_types": {}}, "steps": []}"#,
        "dc.rules",
    );
    check(
        "negative.json",
        r#"{"dc": {"contribution_types": {"a": {"fee": -1}}}, "steps": []}"#,
        "dc.contribution_types.a.fee: -1 is negative",
    );
    check(
        "bad-step.json",
        r#"{"dc": {"contribution_types": {}}, "steps": [{"dance": {}}]}"#,
        "steps[0]: unknown step \"dance\"",
    );
    check(
        "bad-set.json",
        r#"{"dc": {"contribution_types": {"a": {"evaluation_set": [1, 1]}}}, "steps": []}"#,
        "names a value twice",
    );
    let output = stigmer(&["scenario", "run", "/nonexistent/file.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/file.json"));
}

#[test]
fn check_reports_a_difference_with_exit_status_1() {
    let mut scenario: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/readme-example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    scenario["expect"][3]["agents"]["ann"]["tokens"] = Value::from(54.46);
    let path = write_temp("tampered.json", &scenario.to_string());
    let output = stigmer(&["scenario", "check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("step 3: ann.tokens expected 54.46"),
        "{stdout}"
    );
}
