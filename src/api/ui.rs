//! A built single-page front end served from a folder (`--ui-dir`), on the same origin as `/api` and
//! `/socket.io`: its files as they are, and its `index.html` for every other page URL that a browser
//! navigates to (`/recofinement/app/login`), so that deep links and reloads work.
//!
//! Caching: file names carrying a content hash (`main.3f2c9a1b7d.js`, `index-BxT3kq9Z.js`) never
//! change content, so browsers keep them for a year; everything else, `index.html` first, is
//! revalidated on each use, so a new build shows at the next load.

use rocket::fs::NamedFile;
use rocket::http::{ContentType, Header};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Route, State, get, routes};
use std::path::{Path, PathBuf};

/// The route's name, which the 405 and OPTIONS logic leaves out: it answers GET on every path.
pub const ROUTE_NAME: &str = "ui_page";

/// Paths that belong to the server, never to the front end.
const SERVER_PREFIXES: [&str; 3] = ["api", "socket.io", "swaggerui"];

pub fn routes() -> Vec<Route> {
    routes![ui_page]
}

/// The front end's folder, resolved once at start.
pub struct UiDir {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum UiDirError {
    #[error("--ui-dir {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--ui-dir {0}: no index.html in it (give the folder of a built front end)")]
    NoIndex(PathBuf),
}

impl UiDir {
    pub fn open(path: &Path) -> Result<UiDir, UiDirError> {
        let root = path
            .canonicalize()
            .map_err(|source| UiDirError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
        if !root.join("index.html").is_file() {
            return Err(UiDirError::NoIndex(path.to_owned()));
        }
        Ok(UiDir { root })
    }

    /// The file a request path names, if it is a file inside the folder (links leading out of it
    /// are refused as well as `..`, which Rocket's segments already refuse).
    fn file(&self, path: &Path) -> Option<PathBuf> {
        let candidate = self.root.join(path).canonicalize().ok()?;
        (candidate.starts_with(&self.root) && candidate.is_file()).then_some(candidate)
    }
}

/// Whether the request would take an HTML page (a browser's navigation does; a script or image
/// request does not, and gets a 404 for a missing file rather than a page).
pub struct AcceptsHtml(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AcceptsHtml {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let html = request
            .accept()
            .is_some_and(|accept| accept.media_types().any(|m| m.is_html()));
        Outcome::Success(AcceptsHtml(html))
    }
}

#[derive(rocket::Responder)]
pub struct UiFile {
    file: NamedFile,
    cache: Header<'static>,
    sniffing: Header<'static>,
}

#[get("/<path..>", rank = 100)]
async fn ui_page(
    ui: &State<UiDir>,
    path: PathBuf,
    accepts: AcceptsHtml,
) -> Option<(ContentType, UiFile)> {
    let first = path.iter().next().and_then(|s| s.to_str()).unwrap_or("");
    if SERVER_PREFIXES.contains(&first) {
        return None;
    }
    let (file, immutable) = match ui.file(&path) {
        Some(file) => {
            let hashed = is_hashed(&file);
            (file, hashed)
        }
        None if accepts.0 => (ui.root.join("index.html"), false),
        None => return None,
    };
    let content_type = file
        .extension()
        .and_then(|e| e.to_str())
        .and_then(ContentType::from_extension)
        .unwrap_or(ContentType::Binary);
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Some((
        content_type,
        UiFile {
            file: NamedFile::open(file).await.ok()?,
            cache: Header::new("Cache-Control", cache),
            sniffing: Header::new("X-Content-Type-Options", "nosniff"),
        },
    ))
}

/// Whether a file name carries a build's content hash: a part of 8 or more letters and digits, with
/// at least one digit, just before the extension (`main.3f2c9a1b7d.js`, `index-BxT3kq9Z.js`).
fn is_hashed(file: &Path) -> bool {
    let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    let Some(last) = stem
        .rsplit(['.', '-'])
        .next()
        .filter(|l| l.len() < stem.len())
    else {
        return false;
    };
    last.len() >= 8
        && last.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && last.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_hashed;
    use std::path::Path;

    #[test]
    fn hashed_names() {
        for name in [
            "main.3f2c9a1b7d0e4f5a6b7c.js",
            "styles.09ab12cd34ef56aa.css",
            "index-BxT3kq9Z.js",
            "polyfills-es2015.5d0b4a1e2c3f6a7b.js",
        ] {
            assert!(is_hashed(Path::new(name)), "{name}");
        }
        for name in [
            "index.html",
            "favicon.ico",
            "polyfills-es2015.js",
            "runtime.js",
            "bootstrap.js",
            "background.png",
        ] {
            assert!(!is_hashed(Path::new(name)), "{name}");
        }
    }
}
