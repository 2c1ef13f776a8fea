//! The web UI: static files compiled into the binary, served at `/` and
//! under `/ui/`. The UI is plain HTML, CSS and ES modules (no build step); it
//! reads the same `/api/v1` as everyone and signs transactions in the
//! browser, so a private key never reaches the node. Its words are in the
//! message catalogs `i18n/{en,ko,es}.json`, read by `js/i18n.js`.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Every file of the UI, by its path under `crates/node/ui/`.
macro_rules! ui_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/", $path)))),*]
    };
}

pub const FILES: &[(&str, &[u8])] = ui_files![
    "index.html",
    "style.css",
    "js/app.js",
    "js/api.js",
    "js/charts.js",
    "js/dom.js",
    "js/words.js",
    "js/i18n.js",
    "js/explain.js",
    "i18n/en.json",
    "i18n/ko.json",
    "i18n/es.json",
    "js/codec.js",
    "js/keys.js",
    "js/wallet.js",
    "vendor/noble-hashes/_blake.js",
    "vendor/noble-hashes/_md.js",
    "vendor/noble-hashes/_u64.js",
    "vendor/noble-hashes/blake2.js",
    "vendor/noble-hashes/blake3.js",
    "vendor/noble-hashes/utils.js",
];

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{*path}", get(file))
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(path): Path<String>) -> Response {
    serve(&path)
}

fn serve(path: &str) -> Response {
    let Some((_, bytes)) = FILES.iter().find(|(name, _)| *name == path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let content_type = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, *bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Only our own files run: user content shown by the UI cannot load
    // scripts or send data elsewhere.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::FILES;

    /// A file added under `ui/` but not listed would be missing from the
    /// binary; a listed file that is gone would not compile.
    #[test]
    fn every_ui_file_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                if relative.starts_with("test") {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else if !relative.ends_with("LICENSE")
                    && !relative.ends_with(".md")
                    && relative != "package.json"
                {
                    on_disk.push(relative);
                }
            }
        }
        on_disk.sort();
        let mut served: Vec<String> = FILES.iter().map(|(name, _)| name.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }
}
