#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test
# (including end-to-end tests that start real nodes), the conformance
# vectors through the binary, the web UI's encoder against Rust's, the web
# UI driven in headless Chromium (installed when missing), and schemathesis
# against the API's OpenAPI document.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
./target/debug/stigmer scenario check tests/vectors/*.json tests/scenarios/*.json

bash scripts/browser-deps.sh
node --test crates/node/ui/test/
node tests/browser/flow.mjs target/debug/stigmer target/screenshots
bash scripts/api-contract.sh target/debug/stigmer
