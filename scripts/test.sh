#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test
# (including end-to-end tests that start real nodes), and the conformance
# vectors through the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
./target/debug/stigmer scenario check tests/vectors/*.json tests/scenarios/*.json
