//! Talking to a node's HTTP API.

use anyhow::{Context, anyhow};
use serde_json::Value;
use stigmer_ledger::tx::Keypair;
use stigmer_node::json::TransactionJson;
use stigmer_protocol::Operation;

pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// What the node said: a success, or a refusal with its message.
pub enum Answer {
    Ok(Value),
    Refused(String),
}

impl Client {
    pub fn new(node: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(45)))
            .build();
        Client {
            base: node.trim_end_matches('/').to_string(),
            agent: config.into(),
        }
    }

    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Answer> {
        let mut response =
            response.with_context(|| format!("cannot reach the node at {}", self.base))?;
        let status = response.status().as_u16();
        let body: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| anyhow!("the node answered with something that is not JSON: {e}"))?;
        if status < 300 {
            Ok(Answer::Ok(body))
        } else {
            let message = body["error"].as_str().unwrap_or("no message").to_string();
            Ok(Answer::Refused(message))
        }
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    /// Signs `operation` with `key` at the signer's next nonce, submits it
    /// and waits until it is finalized.
    pub fn submit(&self, key: &Keypair, operation: Operation) -> anyhow::Result<Answer> {
        let status = match self.get("/api/v1/status")? {
            Answer::Ok(status) => status,
            Answer::Refused(message) => return Err(anyhow!("the node refused: {message}")),
        };
        let chain_id = status["chain_id"].as_str().unwrap_or_default().to_string();
        let nonce = match self.get(&format!("/api/v1/agents/{}/nonce", key.agent()))? {
            Answer::Ok(value) => value["next_nonce"].as_u64().unwrap_or(0),
            Answer::Refused(message) => return Err(anyhow!("the node refused: {message}")),
        };
        let tx = key.sign(&chain_id, nonce, operation);
        let body = serde_json::to_value(TransactionJson::from_signed(&tx))?;
        self.answer(
            self.agent
                .post(format!("{}/api/v1/transactions?wait=true", self.base))
                .send_json(body),
        )
    }
}
