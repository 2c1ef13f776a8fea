#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test, and the
# conformance vectors through the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
cargo build --release --locked
./target/release/stigmer scenario check tests/vectors/*.json tests/scenarios/*.json
