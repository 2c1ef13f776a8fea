//! The OpenAPI document against the router and the real handlers: every
//! route is in it, and what each handler answers on a small ledger
//! validates against the schema documented for it, with no field the
//! schema does not declare.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use futures::StreamExt;
use serde_json::{Value, json};
use stigmer_ledger::Hash;
use stigmer_ledger::tx::{Keypair, hex};
use stigmer_protocol::AgentId;
use tower::ServiceExt;

use crate::demo::member_key;
use crate::json::{AssetJson, Decimal, FounderJson, OperationJson, ParamsJson, TypeJson};
use crate::ledger::NodeLedger;
use crate::ledger::{Shared, lock};

pub(super) const CHAIN: &str = "api-test";
const GENESIS_MS: u64 = 1_700_000_000_000;

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "stigmer-node-api-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn document() -> Value {
    serde_json::from_str(super::doc::served()).unwrap()
}

/// `/api/v1/dcs/{dc}` as a JSON pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Validates instances against schemas of the document, addressed by JSON
/// pointers into it.
struct Schemas {
    document: Value,
    validators: RefCell<BTreeMap<String, Arc<jsonschema::Validator>>>,
}

impl Schemas {
    fn new() -> Schemas {
        Schemas {
            document: document(),
            validators: RefCell::default(),
        }
    }

    fn at(&self, pointer: &str) -> &Value {
        self.document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("nothing at {pointer}"))
    }

    /// Follows `$ref`s.
    fn resolve(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_string();
        while let Some(reference) = self.at(&pointer).get("$ref").and_then(Value::as_str) {
            pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("a reference out of the document: {reference}"))
                .to_string();
        }
        pointer
    }

    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        if let Some(validator) = self.validators.borrow().get(pointer) {
            return validator.clone();
        }
        self.at(pointer);
        let mut schema = self.document.clone();
        schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        // A URI fragment: braces of path templates are percent-encoded.
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        schema["$ref"] = json!(format!("#{fragment}"));
        let validator = Arc::new(jsonschema::draft202012::new(&schema).unwrap());
        self.validators
            .borrow_mut()
            .insert(pointer.to_string(), validator.clone());
        validator
    }

    fn is_valid(&self, pointer: &str, instance: &Value) -> bool {
        self.validator(pointer).is_valid(instance)
    }

    /// Asserts that `instance` validates against the schema at `pointer`
    /// and has no field the schema does not declare.
    fn check(&self, pointer: &str, instance: &Value, what: &str) {
        let validator = self.validator(pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}\n{instance:#}");
        let mut undeclared = Vec::new();
        self.undeclared(pointer, instance, "", &mut undeclared);
        assert!(
            undeclared.is_empty(),
            "{what}: fields the schema does not declare: {undeclared:?}"
        );
    }

    /// The properties an object schema declares, through `allOf`.
    fn properties(&self, pointer: &str, into: &mut BTreeMap<String, String>) -> bool {
        let pointer = self.resolve(pointer);
        let schema = self.at(&pointer);
        let mut object = false;
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            object = true;
            for name in properties.keys() {
                into.insert(
                    name.clone(),
                    format!("{pointer}/properties/{}", escape(name)),
                );
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for index in 0..parts.len() {
                object |= self.properties(&format!("{pointer}/allOf/{index}"), into);
            }
        }
        object
    }

    /// Paths in `instance` of fields the schema at `pointer` does not
    /// declare.
    fn undeclared(&self, pointer: &str, instance: &Value, at: &str, out: &mut Vec<String>) {
        let pointer = self.resolve(pointer);
        let schema = self.at(&pointer);
        for combinator in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(combinator).and_then(Value::as_array) {
                for index in 0..branches.len() {
                    let branch = format!("{pointer}/{combinator}/{index}");
                    if self.is_valid(&branch, instance) {
                        self.undeclared(&branch, instance, at, out);
                    }
                }
            }
        }
        match instance {
            Value::Object(fields) => {
                let mut declared = BTreeMap::new();
                if self.properties(&pointer, &mut declared) {
                    for (name, value) in fields {
                        match declared.get(name) {
                            Some(property) => {
                                self.undeclared(property, value, &format!("{at}/{name}"), out)
                            }
                            None => out.push(format!("{at}/{name}")),
                        }
                    }
                } else if schema
                    .get("additionalProperties")
                    .is_some_and(Value::is_object)
                {
                    for (name, value) in fields {
                        let values = format!("{pointer}/additionalProperties");
                        self.undeclared(&values, value, &format!("{at}/{name}"), out);
                    }
                }
            }
            Value::Array(items) if schema.get("items").is_some() => {
                for (index, item) in items.iter().enumerate() {
                    self.undeclared(
                        &format!("{pointer}/items"),
                        item,
                        &format!("{at}/{index}"),
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    fn operation(&self, method: &Method, template: &str) -> String {
        let pointer = format!(
            "/paths/{}/{}",
            escape(template),
            method.as_str().to_ascii_lowercase()
        );
        assert!(
            self.document.pointer(&pointer).is_some(),
            "{method} {template} is not documented"
        );
        pointer
    }

    /// The schema of the answer `status` of an operation, in `content_type`.
    fn response(&self, method: &Method, template: &str, status: u16, content_type: &str) -> String {
        let pointer = format!(
            "{}/responses/{status}/content/{}/schema",
            self.operation(method, template),
            escape(content_type)
        );
        assert!(
            self.document.pointer(&pointer).is_some(),
            "{method} {template}: {status} in {content_type} is not documented"
        );
        pointer
    }
}

/// A small ledger: the demo's festival and a second DC, three blocks with
/// every kind of operation (one refused), rewards, a superseded
/// evaluation.
pub(super) struct Fixture {
    _scratch: Scratch,
    pub(super) ledger: Shared,
    nonces: BTreeMap<String, u64>,
    /// A transaction applied in block 1.
    applied: Hash,
    /// A transaction refused in block 1.
    refused: Hash,
    /// Transactions signed since the last block.
    batch: Vec<stigmer_ledger::tx::SignedTransaction>,
}

/// Someone who joins the festival in the first block.
fn newcomer() -> Keypair {
    Keypair::from_seed([7; 32])
}

impl Fixture {
    pub(super) fn new() -> Fixture {
        let scratch = Scratch::new("fixture");
        let genesis = crate::demo::genesis(CHAIN, vec!["00".repeat(32)], GENESIS_MS);
        let ledger = NodeLedger::open(&scratch.0, genesis).unwrap();
        let mut fixture = Fixture {
            _scratch: scratch,
            ledger: Arc::new(Mutex::new(ledger)),
            nonces: BTreeMap::new(),
            applied: Hash([0; 32]),
            refused: Hash([0; 32]),
            batch: Vec::new(),
        };
        let festival = || "festival".to_string();
        let agent = |n: u32| member_key(n).agent().to_string();
        let contribute = |id: &str, kind: &str| OperationJson::Contribute {
            dc: festival(),
            id: id.to_string(),
            contribution_type: kind.to_string(),
            title: format!("Work on {id}"),
        };
        let evaluate = |id: &str, value: u64| OperationJson::Evaluate {
            dc: festival(),
            contribution: id.to_string(),
            value: Decimal(stigmer_protocol::Fixed::from_int(value)),
        };
        fixture.applied = fixture.sign(&member_key(1), contribute("stage-1", "stage"));
        fixture.sign(&member_key(4), contribute("care-1", "care"));
        fixture.sign(
            &member_key(6),
            OperationJson::Transfer {
                dc: festival(),
                to: agent(7),
                amount: Decimal(stigmer_protocol::Fixed::from_int(1)),
                asset: AssetJson::Tokens,
            },
        );
        fixture.sign(
            &newcomer(),
            OperationJson::Join {
                dc: festival(),
                referrer: Some(agent(1)),
            },
        );
        fixture.sign(&member_key(8), OperationJson::Leave { dc: festival() });
        let mut types = BTreeMap::new();
        types.insert("work".to_string(), TypeJson::default());
        fixture.sign(
            &member_key(0),
            OperationJson::CreateDc {
                id: "garden".to_string(),
                name: "Community garden".to_string(),
                token_symbol: "GRD".to_string(),
                params: ParamsJson::default(),
                types,
                founders: vec![FounderJson {
                    agent: agent(0),
                    reputation: Decimal(stigmer_protocol::Fixed::from_int(10)),
                    tokens: Decimal(stigmer_protocol::Fixed::from_int(10)),
                    referrer: None,
                }],
            },
        );
        // Refused in the block: there is no such contribution. (The head
        // refuses such a transaction at once when it is next in line for
        // its signer; behind a pending one, it can only be judged in its
        // block.)
        fixture.sign(
            &member_key(9),
            OperationJson::Transfer {
                dc: festival(),
                to: agent(10),
                amount: Decimal(stigmer_protocol::Fixed::from_int(1)),
                asset: AssetJson::Tokens,
            },
        );
        fixture.refused = fixture.sign(&member_key(9), evaluate("nothing", 3));
        // A proposer of this version would leave it out: block 1 is sealed
        // as an older or dishonest one could, refused transaction included.
        fixture.finalize_exactly(GENESIS_MS + 1_000);
        // Most of the festival values the stage: rewards are issued.
        for n in 2..26 {
            if n != 8 {
                fixture.sign(&member_key(n), evaluate("stage-1", 4));
            }
        }
        fixture.sign(
            &member_key(5),
            OperationJson::Thank {
                dc: festival(),
                contribution: "care-1".to_string(),
            },
        );
        fixture.sign(
            &member_key(0),
            OperationJson::AsDc {
                dc: festival(),
                operation: Box::new(OperationJson::Join {
                    dc: "garden".to_string(),
                    referrer: None,
                }),
            },
        );
        fixture.finalize(GENESIS_MS + 2_000);
        // A change of mind supersedes an evaluation.
        fixture.sign(&member_key(2), evaluate("stage-1", 5));
        fixture.finalize(GENESIS_MS + 3_000);
        fixture
    }

    fn sign(&mut self, key: &Keypair, operation: OperationJson) -> Hash {
        let tx = self.signed(key, operation);
        self.batch.push(tx.clone());
        lock(&self.ledger)
            .submit(tx.verified().unwrap(), GENESIS_MS)
            .unwrap()
    }

    /// Finalizes a block of exactly the transactions signed since the last
    /// one, in order, whatever the state makes of them.
    fn finalize_exactly(&mut self, timestamp_ms: u64) {
        let mut ledger = lock(&self.ledger);
        let txs = std::mem::take(&mut self.batch);
        let block = ledger.chain().seal(timestamp_ms, txs).unwrap();
        ledger.finalize(&block, &[]).unwrap();
    }

    fn signed(
        &mut self,
        key: &Keypair,
        operation: OperationJson,
    ) -> stigmer_ledger::tx::SignedTransaction {
        let nonce = self.nonces.entry(key.agent().to_string()).or_insert(0);
        let tx = key.sign(CHAIN, *nonce, operation.to_operation().unwrap());
        *nonce += 1;
        tx
    }

    fn finalize(&mut self, timestamp_ms: u64) {
        self.batch.clear();
        let mut ledger = lock(&self.ledger);
        let tip = ledger.chain().tip;
        let block = ledger.propose(tip, timestamp_ms).unwrap();
        assert!(!block.txs.is_empty());
        ledger.finalize(&block, &[]).unwrap();
    }

    pub(super) fn router(&self) -> Router {
        super::router(self.ledger.clone())
    }
}

pub(super) async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&bytes)));
    (status, content_type, value)
}

#[test]
fn the_document_parses_as_openapi_3_1() {
    let text = super::doc::served();
    let value: Value = serde_json::from_str(text).unwrap();
    assert!(value["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(value["info"]["title"], "stigmer node API");
    let parsed: utoipa::openapi::OpenApi = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_value(parsed).unwrap(), value);
}

/// Every (method, path) pair the document describes.
fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

#[test]
fn every_route_is_documented() {
    let document = document();
    let paths = document["paths"].as_object().unwrap();
    let documented = documented_operations(&document);
    let expected: BTreeSet<(String, String)> = [
        ("get", "/api/v1/status"),
        ("post", "/api/v1/transactions"),
        ("get", "/api/v1/transactions/{hash}"),
        ("get", "/api/v1/blocks"),
        ("get", "/api/v1/blocks/{height}"),
        ("get", "/api/v1/dcs"),
        ("get", "/api/v1/dcs/{dc}"),
        ("get", "/api/v1/dcs/{dc}/members"),
        ("get", "/api/v1/dcs/{dc}/contributions"),
        ("get", "/api/v1/dcs/{dc}/contributions/{id}"),
        ("get", "/api/v1/dcs/{dc}/contributions/{id}/evaluations"),
        ("get", "/api/v1/dcs/{dc}/contributions/{id}/thanks"),
        ("get", "/api/v1/dcs/{dc}/accounts/{agent}/proof"),
        ("get", "/api/v1/dcs/{dc}/history"),
        ("get", "/api/v1/agents/{agent}"),
        ("get", "/api/v1/agents/{agent}/log"),
        ("get", "/api/v1/agents/{agent}/memberships"),
        ("get", "/api/v1/agents/{agent}/nonce"),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/api/v1/genesis"),
        ("get", "/api/v1/sync"),
    ]
    .into_iter()
    .map(|(method, path)| (method.to_string(), path.to_string()))
    .collect();
    assert_eq!(documented, expected);
    // Routes are registered only with their documentation (`routes!`).
    for source in [
        include_str!("mod.rs"),
        include_str!("chain.rs"),
        include_str!("transactions.rs"),
        include_str!("dcs.rs"),
        include_str!("agents.rs"),
        include_str!("pov.rs"),
        include_str!("sync.rs"),
    ] {
        assert!(!source.contains(concat!(".route", "(\"/api")));
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let in_path: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{method} {path}");
                    p["name"].as_str().unwrap()
                })
                .collect();
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(in_path, in_template, "{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let parameters = |method: &str, path: &str| -> Vec<String> {
        document["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}",
                    p["in"].as_str().unwrap(),
                    p["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(parameters("post", "/api/v1/transactions"), ["query:wait"]);
    assert_eq!(
        parameters("get", "/api/v1/blocks"),
        ["query:before", "query:limit"]
    );
    let events = &document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"];
    assert!(events.get("text/event-stream").is_some(), "{events}");
    assert!(
        document["components"]["schemas"]["BlockEvent"].is_object(),
        "the events' data is described"
    );
    let body = &document["paths"]["/api/v1/transactions"]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Submission"
    );
}

#[test]
fn operations_are_a_oneof_with_a_discriminator() {
    let schemas = Schemas::new();
    let operation = schemas.at("/components/schemas/Operation");
    let discriminator = &operation["discriminator"];
    assert_eq!(discriminator["propertyName"], "type");
    let mapping = discriminator["mapping"].as_object().unwrap();
    let tags: BTreeSet<&str> = mapping.keys().map(String::as_str).collect();
    assert_eq!(
        tags,
        BTreeSet::from([
            "as_dc",
            "contribute",
            "create_dc",
            "evaluate",
            "join",
            "leave",
            "thank",
            "transfer"
        ])
    );
    let branches: BTreeSet<&str> = operation["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        branches,
        mapping.values().map(|v| v.as_str().unwrap()).collect()
    );
    for (tag, reference) in mapping {
        let variant = schemas.at(reference.as_str().unwrap().strip_prefix('#').unwrap());
        assert_eq!(variant["properties"]["type"]["enum"], json!([tag]), "{tag}");
        assert!(
            variant["required"]
                .as_array()
                .unwrap()
                .contains(&json!("type")),
            "{tag}"
        );
        assert_eq!(variant["additionalProperties"], false, "{tag}");
    }
    let status = schemas.at("/components/schemas/TransactionStatus");
    assert_eq!(status["discriminator"]["propertyName"], "status");
    assert_eq!(status["oneOf"].as_array().unwrap().len(), 2);
    // What serde accepts, the schema accepts, and the other way round.
    let pointer = "/components/schemas/Operation";
    let minimal = json!({ "type": "join", "dc": "garden" });
    assert!(serde_json::from_value::<OperationJson>(minimal.clone()).is_ok());
    schemas.check(pointer, &minimal, "a minimal join");
    for refused in [
        json!({ "type": "join", "dc": "garden", "extra": 1 }),
        json!({ "type": "dance", "dc": "garden" }),
        json!({ "dc": "garden" }),
        json!({ "type": "evaluate", "dc": "d", "contribution": "c", "value": "-1" }),
        json!({ "type": "as_dc", "dc": "d", "operation": { "type": "leave" } }),
    ] {
        assert!(serde_json::from_value::<OperationJson>(refused.clone()).is_err());
        assert!(!schemas.is_valid(pointer, &refused), "{refused}");
    }
}

#[test]
fn submissions_validate_against_the_request_body() {
    let schemas = Schemas::new();
    let pointer = format!(
        "{}/requestBody/content/application~1json/schema",
        schemas.operation(&Method::POST, "/api/v1/transactions")
    );
    let tx = member_key(1).sign(
        CHAIN,
        0,
        stigmer_protocol::Operation::Leave {
            dc: "festival".parse().unwrap(),
        },
    );
    let as_json = serde_json::to_value(crate::json::TransactionJson::from_signed(&tx)).unwrap();
    schemas.check(&pointer, &as_json, "a transaction in JSON");
    schemas.check(
        &pointer,
        &json!({ "encoded": hex(&tx.encode()) }),
        "encoded",
    );
    assert!(!schemas.is_valid(&pointer, &json!({ "encoded": "xyz" })));
    assert!(!schemas.is_valid(&pointer, &json!({ "chain_id": "x" })));
}

#[tokio::test]
async fn every_answer_validates_against_its_schema() {
    let mut fixture = Fixture::new();
    let router = fixture.router();
    let schemas = Schemas::new();
    let mut exercised: BTreeSet<(String, String)> = BTreeSet::new();

    // A submission left in the pool, in JSON; the same again is a conflict.
    let pending = fixture.signed(
        &member_key(11),
        OperationJson::Contribute {
            dc: "festival".to_string(),
            id: "sound-1".to_string(),
            contribution_type: "sound".to_string(),
            title: String::new(),
        },
    );
    let pending_json =
        serde_json::to_value(crate::json::TransactionJson::from_signed(&pending)).unwrap();
    let pending_hash = pending.hash().to_string();
    let mut post = async |body: Value, expected: u16| {
        let (status, content_type, answer) =
            call(&router, Method::POST, "/api/v1/transactions", Some(body)).await;
        assert_eq!(status, expected, "{answer}");
        let schema = schemas.response(&Method::POST, "/api/v1/transactions", status, &content_type);
        schemas.check(&schema, &answer, "POST /api/v1/transactions");
        exercised.insert(("post".to_string(), "/api/v1/transactions".to_string()));
        answer
    };
    let answer = post(pending_json.clone(), 202).await;
    assert_eq!(answer["status"], "pending");
    // The same again is accepted again; a used nonce is a conflict.
    post(pending_json, 202).await;
    let reused = member_key(11).sign(CHAIN, 0, pending.transaction.operation.clone());
    post(
        serde_json::to_value(crate::json::TransactionJson::from_signed(&reused)).unwrap(),
        409,
    )
    .await;
    post(json!({ "encoded": "zz" }), 400).await;
    post(json!({ "nonsense": true }), 400).await;
    // What the state already refuses is answered at once, with its reason,
    // and never pending: here an evaluation of a contribution that does not
    // exist, next in line for its signer.
    let hopeless = fixture.signed(
        &member_key(12),
        OperationJson::Evaluate {
            dc: "festival".to_string(),
            contribution: "no-such-work".to_string(),
            value: Decimal(stigmer_protocol::Fixed::from_int(3)),
        },
    );
    let answer = post(
        serde_json::to_value(crate::json::TransactionJson::from_signed(&hopeless)).unwrap(),
        409,
    )
    .await;
    assert!(
        answer["error"].as_str().unwrap().contains("no-such-work"),
        "{answer}"
    );
    assert!(!lock(&fixture.ledger).mempool().contains(&hopeless.hash()));
    // A title beyond the codec's limit, in JSON: refused by name.
    let long_title = member_key(13).sign(
        CHAIN,
        0,
        OperationJson::Contribute {
            dc: "festival".to_string(),
            id: "long".to_string(),
            contribution_type: "sound".to_string(),
            title: "t".repeat(201),
        }
        .to_operation()
        .unwrap(),
    );
    let answer = post(
        serde_json::to_value(crate::json::TransactionJson::from_signed(&long_title)).unwrap(),
        400,
    )
    .await;
    assert!(
        answer["error"].as_str().unwrap().contains("title"),
        "{answer}"
    );
    // A key with no standing: its allowance for the hour, counting what it
    // has pending, then 429.
    let stranger = Keypair::from_seed([0x5a; 32]);
    let allowance = u64::from(stigmer_protocol::limits::TXS_PER_HOUR_NEWCOMER);
    for nonce in 0..=allowance {
        let tx = stranger.sign(
            CHAIN,
            nonce,
            OperationJson::Join {
                dc: "festival".to_string(),
                referrer: None,
            }
            .to_operation()
            .unwrap(),
        );
        let body = serde_json::to_value(crate::json::TransactionJson::from_signed(&tx)).unwrap();
        post(body, if nonce < allowance { 202 } else { 429 }).await;
    }

    let festival = "festival";
    let one = member_key(1).agent().to_string();
    let newcomer = newcomer().agent().to_string();
    let steward_dc = AgentId::of_dc(&"festival".parse().unwrap()).to_string();
    let finalized = fixture.applied.to_string();
    let refused = fixture.refused.to_string();
    let gets: Vec<(&str, String, u16)> = vec![
        ("/api/v1/status", "/api/v1/status".into(), 200),
        (
            "/api/v1/transactions/{hash}",
            format!("/api/v1/transactions/{finalized}"),
            200,
        ),
        (
            "/api/v1/transactions/{hash}",
            format!("/api/v1/transactions/{refused}"),
            200,
        ),
        (
            "/api/v1/transactions/{hash}",
            format!("/api/v1/transactions/{pending_hash}"),
            200,
        ),
        (
            "/api/v1/transactions/{hash}",
            format!("/api/v1/transactions/{}", "0".repeat(64)),
            404,
        ),
        (
            "/api/v1/transactions/{hash}",
            "/api/v1/transactions/zz".into(),
            400,
        ),
        ("/api/v1/blocks", "/api/v1/blocks".into(), 200),
        (
            "/api/v1/blocks",
            "/api/v1/blocks?before=1&limit=1".into(),
            200,
        ),
        ("/api/v1/blocks", "/api/v1/blocks?limit=many".into(), 400),
        ("/api/v1/blocks", "/api/v1/blocks?limit=0".into(), 400),
        ("/api/v1/blocks/{height}", "/api/v1/blocks/0".into(), 200),
        ("/api/v1/blocks/{height}", "/api/v1/blocks/1".into(), 200),
        ("/api/v1/blocks/{height}", "/api/v1/blocks/2".into(), 200),
        ("/api/v1/blocks/{height}", "/api/v1/blocks/3".into(), 200),
        ("/api/v1/blocks/{height}", "/api/v1/blocks/99".into(), 404),
        ("/api/v1/blocks/{height}", "/api/v1/blocks/abc".into(), 400),
        ("/api/v1/dcs", "/api/v1/dcs".into(), 200),
        ("/api/v1/dcs", "/api/v1/dcs?limit=1".into(), 200),
        (
            "/api/v1/dcs",
            "/api/v1/dcs?limit=1&cursor=festival".into(),
            200,
        ),
        ("/api/v1/dcs", "/api/v1/dcs?limit=0".into(), 400),
        ("/api/v1/dcs", "/api/v1/dcs?cursor=NOPE".into(), 400),
        (
            "/api/v1/dcs/{dc}/members",
            format!("/api/v1/dcs/{festival}/members?limit=2&cursor=3"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/members",
            format!("/api/v1/dcs/{festival}/members?cursor=x"),
            400,
        ),
        (
            "/api/v1/dcs/{dc}/members",
            "/api/v1/dcs/nope/members".into(),
            404,
        ),
        (
            "/api/v1/dcs/{dc}/contributions",
            format!("/api/v1/dcs/{festival}/contributions?limit=1"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/contributions/{id}/evaluations",
            format!("/api/v1/dcs/{festival}/contributions/stage-1/evaluations?limit=3"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/contributions/{id}/thanks",
            format!("/api/v1/dcs/{festival}/contributions/care-1/thanks"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/contributions/{id}/thanks",
            format!("/api/v1/dcs/{festival}/contributions/none/thanks"),
            404,
        ),
        ("/api/v1/dcs/{dc}", format!("/api/v1/dcs/{festival}"), 200),
        ("/api/v1/dcs/{dc}", "/api/v1/dcs/garden".into(), 200),
        ("/api/v1/dcs/{dc}", "/api/v1/dcs/NOPE".into(), 400),
        ("/api/v1/dcs/{dc}", "/api/v1/dcs/nope".into(), 404),
        (
            "/api/v1/dcs/{dc}/contributions/{id}",
            format!("/api/v1/dcs/{festival}/contributions/stage-1"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/contributions/{id}",
            format!("/api/v1/dcs/{festival}/contributions/care-1"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/contributions/{id}",
            format!("/api/v1/dcs/{festival}/contributions/none"),
            404,
        ),
        (
            "/api/v1/dcs/{dc}/accounts/{agent}/proof",
            format!("/api/v1/dcs/{festival}/accounts/{one}/proof"),
            200,
        ),
        (
            "/api/v1/dcs/{dc}/accounts/{agent}/proof",
            format!("/api/v1/dcs/garden/accounts/{newcomer}/proof"),
            404,
        ),
        (
            "/api/v1/dcs/{dc}/history",
            format!("/api/v1/dcs/{festival}/history"),
            200,
        ),
        (
            "/api/v1/agents/{agent}",
            format!("/api/v1/agents/{one}"),
            200,
        ),
        (
            "/api/v1/agents/{agent}",
            format!("/api/v1/agents/{newcomer}"),
            200,
        ),
        (
            "/api/v1/agents/{agent}",
            format!("/api/v1/agents/{}", member_key(8).agent()),
            200,
        ),
        // A DC's own account has a page like any agent.
        (
            "/api/v1/agents/{agent}",
            format!("/api/v1/agents/{steward_dc}"),
            200,
        ),
        (
            "/api/v1/agents/{agent}",
            "/api/v1/agents/dc:NOPE".into(),
            400,
        ),
        (
            "/api/v1/agents/{agent}/log",
            format!("/api/v1/agents/{one}/log?limit=2"),
            200,
        ),
        (
            "/api/v1/agents/{agent}/log",
            format!("/api/v1/agents/{one}/log?cursor=-1"),
            400,
        ),
        (
            "/api/v1/agents/{agent}/log",
            format!("/api/v1/agents/{}/log", Keypair::from_seed([8; 32]).agent()),
            404,
        ),
        (
            "/api/v1/agents/{agent}/memberships",
            format!("/api/v1/agents/{steward_dc}/memberships?limit=1"),
            200,
        ),
        ("/api/v1/agents/{agent}", "/api/v1/agents/%00".into(), 400),
        ("/api/v1/agents/{agent}", "/api/v1/agents/%FF".into(), 400),
        (
            "/api/v1/agents/{agent}",
            format!("/api/v1/agents/{}", Keypair::from_seed([8; 32]).agent()),
            404,
        ),
        (
            "/api/v1/agents/{agent}/nonce",
            format!("/api/v1/agents/{one}/nonce"),
            200,
        ),
        (
            "/api/v1/agents/{agent}/nonce",
            "/api/v1/agents/%00/nonce".into(),
            400,
        ),
        ("/api/v1/openapi.json", "/api/v1/openapi.json".into(), 200),
        ("/api/v1/genesis", "/api/v1/genesis".into(), 200),
        // This ledger was finalized without consensus: no proofs to serve.
        ("/api/v1/sync", "/api/v1/sync?from=1".into(), 200),
        ("/api/v1/sync", "/api/v1/sync?from=1&max=64".into(), 200),
        ("/api/v1/sync", "/api/v1/sync?from=0".into(), 400),
        ("/api/v1/sync", "/api/v1/sync?from=1&max=65".into(), 400),
        ("/api/v1/sync", "/api/v1/sync?from=x".into(), 400),
    ];
    let mut answers = BTreeMap::new();
    for (template, uri, expected) in gets {
        let (status, content_type, answer) = call(&router, Method::GET, &uri, None).await;
        assert_eq!(status, expected, "GET {uri}: {answer}");
        let schema = schemas.response(&Method::GET, template, status, &content_type);
        schemas.check(&schema, &answer, &format!("GET {uri}"));
        if status == 200 {
            exercised.insert(("get".to_string(), template.to_string()));
        }
        answers.insert(uri, answer);
    }

    assert_eq!(answers["/api/v1/genesis"]["chain_id"], CHAIN);
    let block_0 = &answers["/api/v1/blocks/0"];
    assert_eq!(block_0["genesis"], true);
    assert_eq!(block_0["hash"], answers["/api/v1/blocks/1"]["parent"]);
    assert_eq!(
        answers[&format!("/api/v1/agents/{steward_dc}")]["memberships"][0]["dc"],
        "garden"
    );
    assert_eq!(answers["/api/v1/dcs?limit=1"]["next"], "festival");
    assert_eq!(
        answers["/api/v1/dcs?limit=1&cursor=festival"]["dcs"][0]["id"],
        "garden"
    );
    assert_eq!(answers["/api/v1/sync?from=1"]["blocks"], json!([]));

    // The ledger has what the checks are meant to see.
    let block_1 = &answers["/api/v1/blocks/1"];
    let kinds: BTreeSet<&str> = ["/api/v1/blocks/1", "/api/v1/blocks/2"]
        .iter()
        .flat_map(|uri| answers[*uri]["transactions"].as_array().unwrap())
        .map(|tx| tx["transaction"]["operation"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 8, "every kind of operation: {kinds:?}");
    assert!(
        block_1["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tx| tx["hash"] == refused.as_str() && tx["error"].is_string())
    );
    assert_eq!(
        answers[&format!("/api/v1/transactions/{refused}")]["ok"],
        false
    );
    assert_eq!(
        answers[&format!("/api/v1/transactions/{pending_hash}")]["status"],
        "pending"
    );
    let stage = &answers[&format!("/api/v1/dcs/{festival}/contributions/stage-1")];
    let evaluations = stage["evaluations"].as_array().unwrap();
    assert!(
        evaluations.iter().any(|e| e["superseded"] == true),
        "{stage:#}"
    );
    assert!(
        evaluations
            .iter()
            .all(|e| e["transaction"]["hash"].is_string())
    );
    assert!(stage["tokens_issued"] != "0", "{stage:#}");
    let log = answers[&format!("/api/v1/agents/{one}")]["log"]
        .as_array()
        .unwrap();
    assert!(log.iter().any(|e| e["transaction"]["genesis"] == true));
    assert!(log.iter().any(|e| e["transaction"]["index"].is_u64()));
    // Each change is also given as data, of its own kind, with its numbers.
    assert!(
        log.iter().all(|e| e["detail"]["kind"] == e["kind"]),
        "{log:#?}"
    );
    let rewarded = log
        .iter()
        .find(|e| e["kind"] == "contribution_rewarded")
        .expect("stage-1 was rewarded");
    let detail = &rewarded["detail"];
    assert_eq!(detail["contribution"]["id"], "stage-1", "{rewarded:#}");
    assert_eq!(detail["contribution"]["title"], "Work on stage-1");
    assert_eq!(
        format!("+{}", detail["tokens"].as_str().unwrap()),
        rewarded["tokens_change"].as_str().unwrap()
    );
    assert_eq!(detail["rules"], "backfeed");
    assert_eq!(
        rewarded["token_symbol"],
        answers[&format!("/api/v1/dcs/{festival}")]["token_symbol"]
    );
    // The garden's founder holds all its reputation.
    assert_eq!(answers["/api/v1/dcs/garden"]["majority_holders"], 1);
    assert!(
        answers["/api/v1/dcs"]["dcs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|dc| dc["majority_holders"].as_u64().is_some_and(|n| n >= 1))
    );
    assert!(
        answers["/api/v1/dcs/garden"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["agent"] == steward_dc.as_str())
    );
    assert!(
        answers[&format!("/api/v1/dcs/{festival}")]["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["referrer"].is_string())
    );

    // Server-sent events: the first describes where the chain is.
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/api/v1/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    schemas.response(&Method::GET, "/api/v1/events", 200, content_type);
    let mut stream = response.into_body().into_data_stream();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = stream.next().await.unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.starts_with("event: block\n"), "{text}");
    let data = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap();
    let event: Value = serde_json::from_str(data).unwrap();
    schemas.check("/components/schemas/BlockEvent", &event, "a block event");
    assert_eq!(event["height"], 3);
    exercised.insert(("get".to_string(), "/api/v1/events".to_string()));

    // Every documented operation was answered with a success.
    let documented = documented_operations(&document());
    assert_eq!(exercised, documented);
}

/// The checks themselves: a field the schema does not declare is found,
/// through `oneOf`, `allOf`, arrays and maps.
#[test]
fn undeclared_fields_are_found() {
    let schemas = Schemas::new();
    let undeclared = |schema: &str, instance: Value| {
        let pointer = format!("/components/schemas/{schema}");
        assert!(schemas.is_valid(&pointer, &instance), "{instance}");
        let mut found = Vec::new();
        schemas.undeclared(&pointer, &instance, "", &mut found);
        found
    };
    let hash = "ab".repeat(32);
    assert_eq!(
        undeclared(
            "TransactionStatus",
            json!({ "hash": hash, "status": "pending", "extra": 1 })
        ),
        ["/extra"]
    );
    let header = json!({
        "height": 1, "hash": hash, "parent": hash, "timestamp_ms": 5,
        "tx_root": hash, "state_root": hash, "n_transactions": 0,
    });
    let mut block = header.clone();
    block["genesis"] = json!(false);
    block["transactions"] = json!([]);
    assert!(undeclared("BlockDetail", block.clone()).is_empty());
    block["bogus"] = json!(true);
    assert_eq!(undeclared("BlockDetail", block), ["/bogus"]);
    let mut page = json!({ "height": 1, "blocks": [header] });
    page["blocks"][0]["more"] = json!(0);
    assert_eq!(undeclared("BlockPage", page), ["/blocks/0/more"]);
    let mut kind = serde_json::to_value(TypeJson::default()).unwrap();
    assert!(schemas.is_valid("/components/schemas/ContributionType", &kind));
    kind["surprise"] = json!("!");
    assert!(!schemas.is_valid("/components/schemas/ContributionType", &kind));
    assert!(!schemas.is_valid(
        "/components/schemas/Decimal",
        &json!("1.0000000000000000001")
    ));
    assert!(!schemas.is_valid("/components/schemas/Decimal", &json!("1.")));
    assert!(schemas.is_valid(
        "/components/schemas/Decimal",
        &json!("14.545454545454545455")
    ));
}

/// Sends `body` as is, with `content_type` if any; status, content type and
/// the answer parsed as JSON (failing if it is not JSON).
async fn call_raw(
    router: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&bytes)));
    assert!(kind.starts_with("application/json"), "{uri}: {kind}");
    (status, value)
}

/// The message of an error answer, checking it is `{"error": "..."}`.
fn error_message(answer: &Value) -> &str {
    assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(!message.is_empty());
    message
}

#[tokio::test]
async fn every_error_is_json_with_its_status() {
    let fixture = Fixture::new();
    let router = fixture.router();
    let schemas = Schemas::new();
    let json = Some("application/json");
    // No such route, or not this method: 404 and 405, in JSON.
    for uri in [
        "/nowhere",
        "/api/v1/nothing",
        "/api/v1/dcs/festival/nothing/more",
    ] {
        let (status, answer) = call_raw(&router, Method::GET, uri, None, Vec::new()).await;
        assert_eq!(status, 404, "{uri}: {answer}");
        error_message(&answer);
    }
    for (method, uri) in [
        (Method::DELETE, "/api/v1/status"),
        (Method::POST, "/api/v1/dcs"),
        (Method::PUT, "/api/v1/transactions"),
    ] {
        let (status, answer) = call_raw(&router, method.clone(), uri, None, Vec::new()).await;
        assert_eq!(status, 405, "{method} {uri}: {answer}");
        assert!(error_message(&answer).contains(method.as_str()), "{answer}");
    }
    // A body without the JSON content type: 415.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (status, answer) = call_raw(
            &router,
            Method::POST,
            "/api/v1/transactions",
            content_type,
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, 415, "{content_type:?}: {answer}");
        error_message(&answer);
    }
    // A body over the limit: 413.
    let huge = format!(
        r#"{{"encoded": "{}"}}"#,
        "00".repeat(super::REQUEST_BODY_BYTES_MAX / 2 + 1)
    );
    let (status, answer) = call_raw(
        &router,
        Method::POST,
        "/api/v1/transactions",
        json,
        huge.into_bytes(),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    error_message(&answer);
    let schema = schemas.response(
        &Method::POST,
        "/api/v1/transactions",
        400,
        "application/json",
    );
    schemas.check(&schema, &answer, "413");
    // The largest transaction fits, in hex and escaped JSON alike.
    let largest = stigmer_ledger::tx::TX_BYTES_MAX as usize;
    assert!(2 * largest + 20 <= super::REQUEST_BODY_BYTES_MAX);
    assert!(6 * largest + 1024 <= super::REQUEST_BODY_BYTES_MAX);
    // Malformed path and query parameters: 400 in JSON.
    for uri in ["/api/v1/blocks/notanumber", "/api/v1/blocks?limit=many"] {
        let (status, answer) = call_raw(&router, Method::GET, uri, None, Vec::new()).await;
        assert_eq!(status, 400, "{uri}: {answer}");
        error_message(&answer);
    }
}

#[tokio::test]
async fn a_refused_submission_says_which_field_is_wrong() {
    let mut fixture = Fixture::new();
    let router = fixture.router();
    let tx = fixture.signed(
        &member_key(11),
        OperationJson::Transfer {
            dc: "festival".to_string(),
            to: member_key(3).agent().to_string(),
            amount: Decimal(stigmer_protocol::Fixed::from_int(1)),
            asset: AssetJson::Tokens,
        },
    );
    let good = serde_json::to_value(crate::json::TransactionJson::from_signed(&tx)).unwrap();
    let post = async |body: String| {
        let (status, answer) = call_raw(
            &router,
            Method::POST,
            "/api/v1/transactions",
            Some("application/json"),
            body.into_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        error_message(&answer).to_string()
    };
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body.to_string()
    };
    // Each error names the field (within an operation, serde knows only
    // `operation`, and the amount's error names the amount), never "untagged
    // enum".
    let cases = [
        (
            with("/operation/amount", json!("1.5e-19")),
            r#"amount "1.5e-19""#,
        ),
        (
            with("/operation/amount", json!(1.5e-19)),
            "amount 1.5e-19: more than 18",
        ),
        (
            with("/operation/amount", json!("0.0000000000000000015")),
            "more than 18",
        ),
        (with("/operation/amount", json!("lots")), r#"amount "lots""#),
        (with("/operation/type", json!("teleport")), "teleport"),
        (with("/nonce", json!("first")), "nonce"),
        (without("signature"), "signature"),
        (json!({ "encoded": 5 }).to_string(), "encoded"),
        ("{\"chain_id\": ".to_string(), "EOF"),
    ];
    for (body, field) in cases {
        let message = post(body.clone()).await;
        assert!(message.contains(field), "{body}: {message}");
        assert!(!message.contains("untagged"), "{body}: {message}");
    }
    // A JSON number that a double rounds is refused, quoted.
    let body = good
        .to_string()
        .replace("\"amount\":\"1\"", "\"amount\":1.0000000000000000000001");
    assert!(body.contains("1.0000000000000000000001"));
    let message = post(body).await;
    assert!(message.contains("1.0000000000000000000001"), "{message}");
    // The same transaction, well formed, is taken.
    let (status, answer) = call_raw(
        &router,
        Method::POST,
        "/api/v1/transactions",
        Some("application/json"),
        good.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
}

/// Runs `work` on a thread of its own and waits for it at most 60 s: the
/// answer, or `None` if it is still blocked (on a lock it should not take).
fn within_bounded_wait<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .ok()
}

/// While consensus holds the node's lock (proposing, verifying,
/// finalizing), every read of the finalized chain still answers: reads
/// never take that lock. Only what asks the pool does (status, nonce, a
/// pending transaction), and those are not in this list.
#[test]
fn reads_answer_while_consensus_holds_the_lock() {
    let fixture = Fixture::new();
    let router = fixture.router();
    let one = member_key(1).agent();
    let applied = fixture.applied;
    let reads: Vec<String> = vec![
        format!("/api/v1/transactions/{applied}"),
        "/api/v1/blocks".into(),
        "/api/v1/blocks/0".into(),
        "/api/v1/blocks/2".into(),
        "/api/v1/dcs".into(),
        "/api/v1/dcs/festival".into(),
        "/api/v1/dcs/festival/members".into(),
        "/api/v1/dcs/festival/contributions".into(),
        "/api/v1/dcs/festival/contributions/stage-1".into(),
        "/api/v1/dcs/festival/contributions/stage-1/evaluations".into(),
        "/api/v1/dcs/festival/contributions/care-1/thanks".into(),
        format!("/api/v1/dcs/festival/accounts/{one}/proof"),
        "/api/v1/dcs/festival/history".into(),
        format!("/api/v1/agents/{one}"),
        format!("/api/v1/agents/{one}/log"),
        format!("/api/v1/agents/{one}/memberships"),
        "/api/v1/genesis".into(),
        "/api/v1/sync?from=1".into(),
    ];
    // Consensus, busy: it holds the lock for the whole test.
    let busy = lock(&fixture.ledger);
    for uri in reads {
        let router = router.clone();
        let what = uri.clone();
        let answer = within_bounded_wait(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(call(&router, Method::GET, &uri, None)).0
        });
        assert_eq!(
            answer,
            Some(200),
            "GET {what} while consensus holds the lock"
        );
    }
    drop(busy);
}

/// A reader in the middle of a page holds the finalized chain's read guard:
/// meanwhile another validator's proposal is verified and a block proposed
/// (they only read the finalized chain), and the block is finalized as soon
/// as the page is done.
#[test]
fn proposing_and_verifying_go_on_while_a_page_is_read() {
    let fixture = Fixture::new();
    let scratch = Scratch::new("peer");
    let genesis = crate::demo::genesis(CHAIN, vec!["00".repeat(32)], GENESIS_MS);
    // A peer that followed the same three blocks.
    let mut peer = NodeLedger::open(&scratch.0, genesis).unwrap();
    for height in 1..=3 {
        let block = lock(&fixture.ledger)
            .store()
            .block(height)
            .unwrap()
            .unwrap();
        peer.finalize(&block, &[]).unwrap();
    }
    let peer: Shared = Arc::new(Mutex::new(peer));
    // The fixture proposes a block with a new transaction.
    let mut nonces = fixture.nonces.clone();
    let key = member_key(3);
    let nonce = nonces.entry(key.agent().to_string()).or_insert(0);
    let tx = key.sign(
        CHAIN,
        *nonce,
        OperationJson::Thank {
            dc: "festival".to_string(),
            contribution: "stage-1".to_string(),
        }
        .to_operation()
        .unwrap(),
    );
    let block = {
        let mut ledger = lock(&fixture.ledger);
        ledger.submit(tx.verified().unwrap(), GENESIS_MS).unwrap();
        let tip = ledger.chain().tip;
        ledger.propose(tip, GENESIS_MS + 4_000).unwrap()
    };

    let finalized = lock(&peer).finalized();
    let page = finalized.read();
    let (verifying, proposal) = (peer.clone(), block.clone());
    let verified = within_bounded_wait(move || lock(&verifying).verify(&proposal));
    assert_eq!(
        verified,
        Some(true),
        "verify completes while a page is read"
    );
    let proposing = peer.clone();
    let proposed = within_bounded_wait(move || {
        let mut ledger = lock(&proposing);
        let parent = ledger.chain().tip;
        ledger
            .propose(parent, GENESIS_MS + 4_000)
            .map(|b| b.header.height)
    });
    assert_eq!(
        proposed.map(Result::ok),
        Some(Some(4)),
        "propose completes while a page is read"
    );
    assert_eq!(page.height, 3, "the page reads the chain it started on");
    drop(page);
    let finalizing = peer.clone();
    let height = within_bounded_wait(move || lock(&finalizing).finalize(&block, &[]).ok());
    assert_eq!(
        height,
        Some(Some(4)),
        "finalize completes once the page is read"
    );
    assert_eq!(finalized.read().height, 4);
}

/// Every action log, as the receipts of the genesis and of the stored
/// blocks, replayed, hand them out.
fn logs_from_receipts(ledger: &NodeLedger) -> stigmer_protocol::Logs {
    let mut logs = stigmer_protocol::Logs::default();
    let (mut chain, genesis) = ledger.genesis().chain_applied().unwrap();
    let mut record = |applied: &stigmer_ledger::chain::Applied| {
        for outcome in &applied.outcomes {
            if let Ok(receipt) = &outcome.result {
                logs.record(receipt);
            }
        }
    };
    record(&genesis);
    for height in 1..=ledger.store().applied_height().unwrap() {
        let block = ledger.store().block(height).unwrap().unwrap();
        record(&chain.apply_block(&block).unwrap());
    }
    logs
}

/// Walking an agent's log page by page, for every page size, gives its whole
/// log newest first, each entry once, and ends with a null cursor.
#[test]
fn log_pages_walk_the_whole_log() {
    let fixture = Fixture::new();
    let ledger = lock(&fixture.ledger);
    let chain = ledger.chain();
    // Member 0 founded the garden and acts for the festival in it: accounts
    // in two DCs, and the festival's own account too.
    let agents = [
        member_key(0).agent(),
        member_key(2).agent(),
        AgentId::of_dc(&"festival".parse().unwrap()),
    ];
    let logs = logs_from_receipts(&ledger);
    for agent in agents {
        let mut expected: Vec<(String, u64)> = logs
            .action_log(&chain.state, &agent)
            .into_iter()
            .map(|(dc, entry)| (dc.id.to_string(), entry.op))
            .collect();
        expected.reverse();
        assert!(!expected.is_empty());
        assert_eq!(expected.len(), super::agents::n_log_entries(&chain, &agent));
        for limit in 1..=expected.len() + 1 {
            let mut walked = Vec::new();
            let mut cursor = None;
            for _ in 0..=expected.len() {
                let (page, next) =
                    super::agents::log_page(&chain, ledger.store(), &agent, cursor, limit)
                        .unwrap_or_else(|_| panic!("cannot read a page of {agent}'s log"));
                assert!(!page.is_empty());
                // Longer than asked only to end on a whole operation.
                if page.len() > limit {
                    let last = page[page.len() - 1].op;
                    assert!(page[limit - 1..].iter().all(|e| e.op == last));
                }
                walked.extend(page.iter().map(|e| (e.dc.clone(), e.op)));
                match next {
                    Some(next) => cursor = Some(next.parse().unwrap()),
                    None => break,
                }
            }
            let mut expected_sorted = expected.clone();
            let mut walked_sorted = walked.clone();
            expected_sorted.sort();
            walked_sorted.sort();
            assert_eq!(walked_sorted, expected_sorted, "{agent}, {limit} a page");
            let ops: Vec<u64> = walked.iter().map(|(_, op)| *op).collect();
            assert!(
                ops.windows(2).all(|w| w[0] >= w[1]),
                "newest first: {ops:?}"
            );
        }
    }
}

/// Walking a DC's accounts and contributions page by page gives each once.
#[tokio::test]
async fn dc_pages_walk_every_account_and_contribution() {
    let fixture = Fixture::new();
    let router = fixture.router();
    let (_, _, dc) = call(&router, Method::GET, "/api/v1/dcs/festival", None).await;
    for (list, key, field, n) in [
        ("members", "agent", "members", 0usize),
        (
            "contributions",
            "id",
            "contributions",
            dc["n_contributions"].as_u64().unwrap() as usize,
        ),
    ] {
        let mut seen = Vec::new();
        let mut uri = format!("/api/v1/dcs/festival/{list}?limit=2");
        loop {
            let (status, _, page) = call(&router, Method::GET, &uri, None).await;
            assert_eq!(status, 200, "{page}");
            let items = page[field].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(
                items
                    .iter()
                    .map(|item| item[key].as_str().unwrap().to_string()),
            );
            match page["next"].as_str() {
                Some(next) => uri = format!("/api/v1/dcs/festival/{list}?limit=2&cursor={next}"),
                None => break,
            }
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{list}: each once");
        if n > 0 {
            assert_eq!(seen.len(), n, "{list}: all of them");
        } else {
            let ledger = lock(&fixture.ledger);
            let chain = ledger.chain();
            let all = chain
                .state
                .dc(&"festival".parse().unwrap())
                .unwrap()
                .members()
                .len();
            assert_eq!(seen.len(), all, "{list}: all of them");
        }
    }
}

/// A DC whose founders hold `reputations`, one each.
fn dc_of(reputations: &[u64]) -> stigmer_protocol::State {
    use stigmer_protocol::{ContributionType, CreateDc, DcParams, Fixed, Founder, Operation};
    let founders = reputations
        .iter()
        .enumerate()
        .map(|(index, &reputation)| Founder {
            agent: AgentId::new(&format!("m{index}")).unwrap(),
            reputation: Fixed::from_int(reputation),
            tokens: Fixed::ZERO,
            referrer: None,
        })
        .collect();
    let create = CreateDc {
        id: "coop".parse().unwrap(),
        name: "A cooperative".to_string(),
        token_symbol: "COOP".to_string(),
        params: DcParams::default(),
        types: BTreeMap::from([("work".parse().unwrap(), ContributionType::default())]),
        founders,
    };
    let mut state = stigmer_protocol::State::new();
    state
        .apply(&AgentId::new("m0").unwrap(), &Operation::CreateDc(create))
        .unwrap();
    state
}

/// The fewest members holding more than half of the reputation, against
/// every subset of small DCs: exactly half is not more than half, and a DC
/// with no reputation has no figure.
#[test]
fn majority_holders_are_the_fewest_over_half() {
    let figure = |reputations: &[u64]| {
        let state = dc_of(reputations);
        super::dcs::majority_holders(state.dc(&"coop".parse().unwrap()).unwrap())
    };
    assert_eq!(figure(&[10]), Some(1));
    assert_eq!(figure(&[50, 50]), Some(2));
    assert_eq!(figure(&[25, 25, 25, 25]), Some(3));
    assert_eq!(figure(&[0, 0]), None);
    let mut rng = stigmer_protocol::workload::Rng::new(10);
    for _ in 0..300 {
        let n = 1 + rng.below(8) as usize;
        let reputations: Vec<u64> = (0..n).map(|_| rng.below(6)).collect();
        let total: u64 = reputations.iter().sum();
        let smallest = (0u32..1 << n)
            .filter(|set| {
                let held: u64 = (0..n)
                    .filter(|i| set & (1 << i) != 0)
                    .map(|i| reputations[i])
                    .sum();
                2 * held > total
            })
            .map(|set| set.count_ones() as usize)
            .min()
            .filter(|_| total > 0);
        assert_eq!(figure(&reputations), smallest, "{reputations:?}");
    }
}

/// A transaction the state refuses only once those before it are applied
/// (sent behind them, so it could not be judged on arrival) never reaches a
/// block: the proposal leaves it out, the pool drops it and the signer's
/// later ones, and its status says why. Sending transactions in reverse
/// nonce order once let anyone fill blocks with refused ones.
#[tokio::test]
async fn a_refusal_behind_pending_transactions_never_reaches_a_block() {
    let mut fixture = Fixture::new();
    let router = fixture.router();
    let key = member_key(12);
    let transfer = fixture.signed(
        &key,
        OperationJson::Transfer {
            dc: "festival".to_string(),
            to: member_key(3).agent().to_string(),
            amount: Decimal(stigmer_protocol::Fixed::from_int(1)),
            asset: AssetJson::Tokens,
        },
    );
    let refused = fixture.signed(
        &key,
        OperationJson::Evaluate {
            dc: "festival".to_string(),
            contribution: "nothing".to_string(),
            value: Decimal(stigmer_protocol::Fixed::from_int(3)),
        },
    );
    let after = fixture.signed(
        &key,
        OperationJson::Thank {
            dc: "festival".to_string(),
            contribution: "stage-1".to_string(),
        },
    );
    // Last nonce first: each waits behind a gap, unjudged.
    for tx in [&after, &refused, &transfer] {
        let body = serde_json::to_value(crate::json::TransactionJson::from_signed(tx)).unwrap();
        let (status, _, answer) =
            call(&router, Method::POST, "/api/v1/transactions", Some(body)).await;
        assert_eq!(status, 202, "{answer}");
    }
    fixture.finalize(GENESIS_MS + 4_000);
    let block = {
        let ledger = lock(&fixture.ledger);
        let height = ledger.chain().height;
        ledger.store().block(height).unwrap().unwrap()
    };
    assert_eq!(block.txs, vec![transfer.clone()]);
    let (status, _, answer) = call(
        &router,
        Method::GET,
        &format!("/api/v1/transactions/{}", refused.hash()),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "refused", "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("nothing"),
        "{answer}"
    );
    // The one after it can no longer follow: dropped with it.
    let (status, _, answer) = call(
        &router,
        Method::GET,
        &format!("/api/v1/transactions/{}", after.hash()),
        None,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(lock(&fixture.ledger).mempool().len(), 0);
}
