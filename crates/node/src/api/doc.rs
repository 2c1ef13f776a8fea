//! The parts of the OpenAPI document that are not derived from a handler or
//! an answer: its title and tags, the schemas of strings with a shape
//! (hashes, hex, agent ids), and the discriminator of operations.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::OpenApi as _;
use utoipa::openapi::schema::{AdditionalProperties, Discriminator, ObjectBuilder, Schema, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "stigmer node API",
        description = "The HTTP API of a stigmer node. ALPHA: it may change without notice.\n\n\
            Reads show the finalized chain only. Amounts are exact decimal strings \
            (`Decimal`). Errors are `{\"error\": \"...\"}` with a 4xx status that says \
            whose fault it was (a 500 only if the node's own storage fails).\n\n\
            This document is generated from the code that serves the API."
    ),
    tags(
        (name = "chain", description = "Blocks, status, events"),
        (name = "transactions", description = "Submitting and following transactions"),
        (name = "dcs", description = "Decentralized cooperatives, their members and contributions"),
        (name = "agents", description = "Agents, their accounts and action logs"),
    ),
    components(schemas(super::chain::BlockEvent))
)]
struct ApiDoc;

/// The document before routes are added.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// Finishes the document once every route is in.
pub fn finish(document: &mut OpenApi) {
    // `OperationJson` denies unknown fields.
    discriminate(document, "Operation", "type", Closed::Yes);
}

/// The document as served, serialized once.
pub fn served() -> &'static str {
    static SERVED: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string(&super::openapi()).unwrap_or_else(|error| {
            serde_json::json!({ "error": format!("the OpenAPI document: {error}") }).to_string()
        })
    });
    &SERVED
}

/// Whether a serde enum denies unknown fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Closed {
    Yes,
}

/// Turns the schema `name` of a serde internally tagged enum (a `oneOf` of
/// inline objects, each with a one-value enum under `tag`) into a `oneOf`
/// of named schemas (`<Variant><name>`) with a discriminator, as OpenAPI
/// wants it: utoipa derives the `oneOf` but no discriminator for such
/// enums, nor `additionalProperties: false` on their variants when serde
/// denies unknown fields.
fn discriminate(document: &mut OpenApi, name: &str, tag: &str, closed: Closed) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let mut lifted = Vec::new();
    if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(name) {
        let mut mapping = BTreeMap::new();
        for item in &mut one_of.items {
            let RefOr::T(Schema::Object(object)) = item else {
                continue;
            };
            if closed == Closed::Yes {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            let Some(RefOr::T(Schema::Object(tag_schema))) = object.properties.get(tag) else {
                continue;
            };
            let Some([serde_json::Value::String(value)]) = tag_schema.enum_values.as_deref() else {
                continue;
            };
            let variant = format!("{}{name}", pascal_case(value));
            let reference = format!("#/components/schemas/{variant}");
            mapping.insert(value.clone(), reference.clone());
            lifted.push((variant, std::mem::replace(item, Ref::new(reference).into())));
        }
        one_of.discriminator = Some(Discriminator::with_mapping(tag, mapping));
    }
    components.schemas.extend(lifted);
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

/// A string schema with a pattern, for fields whose Rust type is `String`
/// (`#[schema(value_type = ...)]`).
macro_rules! text_schema {
    ($(#[$meta:meta])* $type:ident, $name:literal, $pattern:expr, $description:literal) => {
        $(#[$meta])*
        pub struct $type;

        impl utoipa::PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern($pattern)
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

text_schema!(
    /// A BLAKE3 hash in hex.
    HashHex,
    "Hash",
    Some("^[0-9a-fA-F]{64}$"),
    "A hash (BLAKE3, 32 bytes) in hex: 64 digits, lower case in answers."
);

text_schema!(
    /// Bytes in hex.
    Hex,
    "Hex",
    Some("^([0-9a-fA-F]{2})*$"),
    "Bytes in hex, two digits each, lower case in answers."
);

text_schema!(
    /// An agent id.
    AgentIdText,
    "AgentId",
    None::<&str>,
    "An agent: the hex of its ed25519 public key. In answers, also `dc:<id>`: the account \
     through which a DC acts in other DCs."
);

text_schema!(
    /// A change of balance.
    SignedDecimal,
    "SignedDecimal",
    Some(r"^[+-][0-9]+(\.[0-9]{1,18})?$"),
    "A change of balance: `+` or `-` and an exact decimal amount."
);
