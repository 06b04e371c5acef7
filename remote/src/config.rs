//! The remote's configuration: from command-line values, else the environment.

use crate::REMOTE_CA_ENV;
use crate::{
    RemoteError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_FAILURES, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_UPLOAD_WAIT, REMOTE_CACHE_ENV, REMOTE_CONNECT_TIMEOUT_ENV, REMOTE_KEY_ENV,
    REMOTE_READ_ONLY_ENV, REMOTE_TIMEOUT_ENV, REMOTE_TOKEN_ENV, REMOTE_UPLOAD_WAIT_ENV,
};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The protocol a remote speaks, from its URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`: the Bazel remote-cache HTTP layout.
    Http,
    /// `https://`: the same over TLS.
    Https,
    /// `redis://`.
    Redis,
    /// `rediss://`: Redis over TLS.
    Rediss,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Redis => "redis",
            Scheme::Rediss => "rediss",
        }
    }

    fn parse(s: &str) -> Option<Scheme> {
        Some(match s {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "redis" => Scheme::Redis,
            "rediss" => Scheme::Rediss,
            _ => return None,
        })
    }

    /// Whether the connection is TLS (`https://`, `rediss://`).
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Rediss)
    }

    /// Whether this is one of the Redis schemes.
    pub fn is_redis(self) -> bool {
        matches!(self, Scheme::Redis | Scheme::Rediss)
    }
}

/// Values given on the command line (or by a build script), each overriding its
/// environment variable when set.
#[derive(Debug, Clone, Default)]
pub struct RemoteOverrides {
    /// `--remote-cache URL`; else `WASMPRECOMP_REMOTE_CACHE`.
    pub url: Option<String>,
    /// `--remote-read-only`; else `WASMPRECOMP_REMOTE_READ_ONLY`.
    pub read_only: bool,
    /// `--remote-connect-timeout`; else `WASMPRECOMP_REMOTE_CONNECT_TIMEOUT`.
    pub connect_timeout: Option<Duration>,
    /// `--remote-timeout`; else `WASMPRECOMP_REMOTE_TIMEOUT`.
    pub request_timeout: Option<Duration>,
}

/// Everything needed to use a remote. Its `Debug` output and [`RemoteConfig::display_url`]
/// never show the credentials, the token or the key.
#[derive(Clone)]
pub struct RemoteConfig {
    pub(crate) scheme: Scheme,
    /// The URL as given (it may carry credentials).
    pub(crate) url: url::Url,
    /// The URL without credentials, for messages and reports.
    pub(crate) display: String,
    /// A token (`WASMPRECOMP_REMOTE_TOKEN`).
    pub(crate) token: Option<String>,
    /// The secret that authenticates objects (`WASMPRECOMP_REMOTE_KEY`).
    pub(crate) key: Option<Vec<u8>>,
    /// The certificate authorities a TLS remote is verified against instead of the
    /// default roots (`WASMPRECOMP_REMOTE_CA`): the file and its PEM text.
    pub(crate) ca: Option<(PathBuf, Vec<u8>)>,
    /// Read and never write.
    pub read_only: bool,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for one request (connection included).
    pub request_timeout: Duration,
    /// Longest wait at the end of the run for uploads still queued or running.
    pub upload_wait: Duration,
    /// Consecutive failed requests after which the remote is off for the run.
    pub max_failures: u32,
}

impl fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("url", &self.display)
            .field("credentials", &self.credentials())
            .field("authenticated", &self.key.is_some())
            .field("ca", &self.ca.as_ref().map(|(p, _)| p))
            .field("read_only", &self.read_only)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("upload_wait", &self.upload_wait)
            .finish()
    }
}

impl RemoteConfig {
    /// A configuration for `url` with the default timeouts, no token and no key; an
    /// error names what is wrong with the URL (without its credentials).
    pub fn new(url: &str) -> Result<RemoteConfig, RemoteError> {
        let accepted = "use http(s)://HOST[:PORT][/PREFIX] (the Bazel remote-cache layout) \
                        or redis(s)://[USER:PASSWORD@]HOST[:PORT][/DB]";
        let parsed = url::Url::parse(url.trim()).map_err(|e| RemoteError::Url {
            url: "<unparsable>".into(),
            reason: format!("{e}; {accepted}"),
        })?;
        let display = without_credentials(&parsed);
        let Some(scheme) = Scheme::parse(parsed.scheme()) else {
            return Err(RemoteError::Url {
                url: display,
                reason: format!("scheme `{}` is not supported; {accepted}", parsed.scheme()),
            });
        };
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(RemoteError::Url {
                url: display,
                reason: format!("no host; {accepted}"),
            });
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(RemoteError::Url {
                url: display,
                reason: "a query or fragment is not supported".into(),
            });
        }
        if scheme.is_redis() {
            let db = parsed.path().trim_matches('/');
            if !db.is_empty() && db.parse::<i64>().is_err() {
                return Err(RemoteError::Url {
                    url: display,
                    reason: format!("the path of a Redis URL is a database number, not `{db}`"),
                });
            }
        }
        Ok(RemoteConfig {
            scheme,
            url: parsed,
            display,
            token: None,
            key: None,
            ca: None,
            read_only: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            upload_wait: DEFAULT_UPLOAD_WAIT,
            max_failures: DEFAULT_MAX_FAILURES,
        })
    }

    /// The configuration the process's command line and environment give: `None` when
    /// neither names a URL (or the variable is empty).
    pub fn resolve(o: &RemoteOverrides) -> Result<Option<RemoteConfig>, RemoteError> {
        Self::resolve_with(o, |k| std::env::var(k).ok())
    }

    /// [`RemoteConfig::resolve`] with the environment given as a lookup function.
    pub fn resolve_with(
        o: &RemoteOverrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<RemoteConfig>, RemoteError> {
        let nonempty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let Some(url) = o.url.clone().or_else(|| nonempty(REMOTE_CACHE_ENV)) else {
            return Ok(None);
        };
        let mut c = RemoteConfig::new(&url)?;
        c.token = nonempty(REMOTE_TOKEN_ENV).map(|t| t.trim().to_string());
        c.key = nonempty(REMOTE_KEY_ENV).map(|k| k.into_bytes());
        if let Some(f) = nonempty(REMOTE_CA_ENV) {
            c = c.with_ca_file(Path::new(f.trim()))?;
        }
        c.read_only = o.read_only
            || match nonempty(REMOTE_READ_ONLY_ENV) {
                None => false,
                Some(v) => parse_bool(REMOTE_READ_ONLY_ENV, &v)?,
            };
        let duration = |given: Option<Duration>, var: &str, default: Duration| match given {
            Some(d) => Ok(d),
            None => match nonempty(var) {
                Some(v) => parse_duration(&v).map_err(|reason| RemoteError::Setting {
                    name: var.into(),
                    reason,
                }),
                None => Ok(default),
            },
        };
        c.connect_timeout = duration(
            o.connect_timeout,
            REMOTE_CONNECT_TIMEOUT_ENV,
            DEFAULT_CONNECT_TIMEOUT,
        )?;
        c.request_timeout = duration(
            o.request_timeout,
            REMOTE_TIMEOUT_ENV,
            DEFAULT_REQUEST_TIMEOUT,
        )?;
        c.upload_wait = duration(None, REMOTE_UPLOAD_WAIT_ENV, DEFAULT_UPLOAD_WAIT)?;
        Ok(Some(c))
    }

    /// Sets the token (see [`crate::REMOTE_TOKEN_ENV`]).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sets the secret that authenticates every object (see [`crate::REMOTE_KEY_ENV`]).
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Verifies a TLS remote against the certificate authorities in the PEM file `path`
    /// instead of the default roots (see [`crate::REMOTE_CA_ENV`]). An unreadable file,
    /// or one without a certificate, is an error naming it.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, RemoteError> {
        let setting = |reason: String| RemoteError::Setting {
            name: format!("{REMOTE_CA_ENV} ({})", path.display()),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| setting(format!("cannot read it: {e}")))?;
        let mut certificates = 0;
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(_)) => certificates += 1,
                Ok(_) => {}
                Err(e) => return Err(setting(format!("not PEM: {e}"))),
            }
        }
        if certificates == 0 {
            return Err(setting("holds no PEM certificate".into()));
        }
        self.ca = Some((path.to_path_buf(), pem));
        Ok(self)
    }

    /// The protocol.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The URL without its user name and password: safe to print.
    pub fn display_url(&self) -> &str {
        &self.display
    }

    /// Where the credentials come from: `url` (user and password in the URL), `token`
    /// (`WASMPRECOMP_REMOTE_TOKEN`) or `none`.
    pub fn credentials(&self) -> &'static str {
        if !self.url.username().is_empty() || self.url.password().is_some() {
            "url"
        } else if self.token.is_some() {
            "token"
        } else {
            "none"
        }
    }

    /// Whether objects are authenticated with a key (`WASMPRECOMP_REMOTE_KEY`).
    pub fn authenticated(&self) -> bool {
        self.key.is_some()
    }

    /// The configuration as `(name, value)` pairs for a person or a JSON object, without
    /// any secret: `remote url`, `remote protocol`, `remote mode`, `remote credentials`,
    /// `remote authenticated`, `remote connect timeout`, `remote timeout`, and for a TLS
    /// remote `remote tls roots`.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let protocol = if self.scheme.is_redis() {
            "redis"
        } else {
            "http (bazel remote-cache layout)"
        };
        let mut v = vec![
            ("remote url", self.display.clone()),
            ("remote protocol", protocol.to_string()),
            (
                "remote mode",
                if self.read_only {
                    "read-only"
                } else {
                    "read-write"
                }
                .to_string(),
            ),
            ("remote credentials", self.credentials().to_string()),
            ("remote authenticated", self.authenticated().to_string()),
            (
                "remote connect timeout",
                format!("{:?}", self.connect_timeout),
            ),
            ("remote timeout", format!("{:?}", self.request_timeout)),
        ];
        if self.scheme.is_tls() {
            let roots = match &self.ca {
                Some((p, _)) => p.display().to_string(),
                None if self.scheme.is_redis() => "the system's".to_string(),
                None => "Mozilla's (webpki-roots)".to_string(),
            };
            v.push(("remote tls roots", roots));
        }
        v
    }

    /// Every secret of this configuration, to scrub from messages of the libraries.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(p) = self.url.password() {
            v.push(p.to_string());
            if let Ok(d) = percent_decode(p) {
                v.push(d);
            }
        }
        if let Some(t) = &self.token {
            v.push(t.clone());
        }
        if let Some(k) = &self.key {
            v.push(String::from_utf8_lossy(k).into_owned());
        }
        v
    }
}

/// `url` without user name and password.
fn without_credentials(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

pub(crate) fn percent_decode(s: &str) -> Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
}

fn parse_bool(name: &str, v: &str) -> Result<bool, RemoteError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(RemoteError::Setting {
            name: name.into(),
            reason: format!("`{v}` is not a boolean (true/false, 1/0)"),
        }),
    }
}

/// Parses a duration: `250ms`, `2s`, `1.5s`, `1m`, or plain seconds (`3`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        u => return Err(format!("`{s}`: unknown unit `{u}` (use ms, s or m)")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (such as 500ms, 2s, 1m)"))?;
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("`{s}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let d = tempfile::tempdir().unwrap();
        let c = RemoteConfig::new("https://cache.example").unwrap();
        let missing = d.path().join("missing.pem");
        let e = c.clone().with_ca_file(&missing).unwrap_err().to_string();
        assert!(
            e.contains(REMOTE_CA_ENV) && e.contains("missing.pem"),
            "{e}"
        );
        let empty = d.path().join("empty.pem");
        std::fs::write(&empty, "no PEM here\n").unwrap();
        let e = c.clone().with_ca_file(&empty).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        // A key alone is not an authority.
        let key = d.path().join("key.pem");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIH1Oa9tt1tc0cAcZ4rSmGsV7eBuxuUsLtgW1bXVzvJpv\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = c.with_ca_file(&key).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("2h").is_err());
    }

    #[test]
    fn a_url_with_a_password_displays_without_it() {
        let c = RemoteConfig::new("redis://user:hunter22@127.0.0.1:6379/2").unwrap();
        assert_eq!(c.display_url(), "redis://127.0.0.1:6379/2");
        assert_eq!(c.credentials(), "url");
        assert!(!format!("{c:?}").contains("hunter22"));
        let c = RemoteConfig::new("https://u:p%40ss@cache.example/prefix").unwrap();
        assert_eq!(c.display_url(), "https://cache.example/prefix");
        assert!(c.secrets().contains(&"p@ss".to_string()));
    }

    #[test]
    fn malformed_urls_and_unknown_schemes_are_errors_that_hide_credentials() {
        let e = RemoteConfig::new("ftp://u:secretpw@host/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ftp") && !e.contains("secretpw"), "{e}");
        let e = RemoteConfig::new("http//u:secretpw@host")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secretpw"), "{e}");
        assert!(RemoteConfig::new("redis://host/notadb").is_err());
        assert!(RemoteConfig::new("http://").is_err());
    }

    #[test]
    fn the_environment_fills_what_the_command_line_leaves_open() {
        let env = |k: &str| match k {
            REMOTE_CACHE_ENV => Some("http://127.0.0.1:9/c".to_string()),
            REMOTE_TOKEN_ENV => Some("tok".to_string()),
            REMOTE_READ_ONLY_ENV => Some("true".to_string()),
            REMOTE_TIMEOUT_ENV => Some("750ms".to_string()),
            _ => None,
        };
        let c = RemoteConfig::resolve_with(&RemoteOverrides::default(), env)
            .unwrap()
            .unwrap();
        assert!(c.read_only);
        assert_eq!(c.credentials(), "token");
        assert_eq!(c.request_timeout, Duration::from_millis(750));
        let o = RemoteOverrides {
            url: Some("redis://127.0.0.1:1".into()),
            request_timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        let c = RemoteConfig::resolve_with(&o, env).unwrap().unwrap();
        assert_eq!(c.scheme(), Scheme::Redis);
        assert_eq!(c.request_timeout, Duration::from_secs(1));
        assert!(
            RemoteConfig::resolve_with(&RemoteOverrides::default(), |_| None)
                .unwrap()
                .is_none()
        );
        let bad = |k: &str| match k {
            REMOTE_CACHE_ENV => Some("http://h".to_string()),
            REMOTE_TIMEOUT_ENV => Some("soon".to_string()),
            _ => None,
        };
        assert!(RemoteConfig::resolve_with(&RemoteOverrides::default(), bad).is_err());
    }
}
