//! `minio` — an offline S3 stand-in for the official MinIO image.
//!
//! Object storage is `s3s-fs` (the s3s project's file-system backend); this
//! wrapper adds what the flowinfra tests need from MinIO on top of it:
//!
//! * MinIO's command line: `minio server [--address :9000] [--console-address :9001] DIR`
//!   and credentials from `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD`
//!   (fallback `MINIO_ACCESS_KEY` / `MINIO_SECRET_KEY`, default `minioadmin`).
//! * AWS Signature V4 (and V2) verification for every request (done by s3s).
//! * Bucket policies: Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus,
//!   stored under `DIR/.minio.sys/buckets/<bucket>/policy.json`, and evaluated
//!   for anonymous requests (a public-read policy lets anyone GET objects).
//! * `DeleteBucket` refuses a non-empty bucket (`BucketNotEmpty`), as MinIO does.
//! * `/minio/health/{live,ready,cluster,cluster/read}` answer 200 without auth;
//!   with `STANDIN_S3_CONTRACT=rustfs` (the entrypoint's `rustfs` mode) also
//!   RustFS's `/health` and `/health/ready`.
//! * A placeholder HTTP page on the console address (there is no console).
//! * Clean shutdown on SIGTERM/SIGINT (it runs as PID 1 in the container).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::*;
use s3s::path::S3Path;
use s3s::route::S3Route;
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;

use hyper::http::Extensions;
use hyper::{HeaderMap, Method, StatusCode, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

// ---------------------------------------------------------------------------
// Bucket policies
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Policies {
    root: PathBuf,
}

impl Policies {
    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    fn policy_path(&self, bucket: &str) -> PathBuf {
        self.root
            .join(".minio.sys")
            .join("buckets")
            .join(bucket)
            .join("policy.json")
    }

    fn bucket_exists(&self, bucket: &str) -> bool {
        s3s::path::check_bucket_name(bucket) && self.bucket_dir(bucket).is_dir()
    }

    fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        if self.bucket_exists(bucket) {
            Ok(())
        } else {
            Err(s3_error!(NoSuchBucket, "The specified bucket does not exist"))
        }
    }

    fn load(&self, bucket: &str) -> Option<String> {
        std::fs::read_to_string(self.policy_path(bucket)).ok()
    }

    fn store(&self, bucket: &str, policy: &str) -> S3Result<()> {
        let path = self.policy_path(bucket);
        let dir = path.parent().expect("policy path has a parent");
        std::fs::create_dir_all(dir).map_err(|e| s3_error!(e, InternalError))?;
        let tmp = dir.join("policy.json.tmp");
        std::fs::write(&tmp, policy).map_err(|e| s3_error!(e, InternalError))?;
        std::fs::rename(&tmp, &path).map_err(|e| s3_error!(e, InternalError))?;
        Ok(())
    }

    fn remove(&self, bucket: &str) {
        let _ = std::fs::remove_dir_all(self.policy_path(bucket).parent().unwrap());
    }

    /// Is an anonymous request for `action` on `resource` allowed by the
    /// bucket's policy? Explicit Deny wins; statements with a Condition are
    /// not evaluated (they never allow).
    fn anonymous_allowed(&self, bucket: &str, action: &str, resource: &str) -> bool {
        let Some(text) = self.load(bucket) else { return false };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else { return false };
        let mut allowed = false;
        for st in as_list(doc.get("Statement")) {
            let effect = st.get("Effect").and_then(|v| v.as_str()).unwrap_or("");
            if !principal_is_anyone(st.get("Principal")) {
                continue;
            }
            let action_hit = as_strs(st.get("Action")).iter().any(|p| glob(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()));
            let resource_hit = as_strs(st.get("Resource")).iter().any(|p| glob(p, resource));
            if !(action_hit && resource_hit) {
                continue;
            }
            match effect {
                "Deny" => return false,
                "Allow" if st.get("Condition").is_none() => allowed = true,
                _ => {}
            }
        }
        allowed
    }
}

fn as_list(v: Option<&serde_json::Value>) -> Vec<&serde_json::Value> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
        None => vec![],
    }
}

fn as_strs(v: Option<&serde_json::Value>) -> Vec<String> {
    as_list(v).into_iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()
}

fn principal_is_anyone(p: Option<&serde_json::Value>) -> bool {
    match p {
        Some(serde_json::Value::String(s)) => s == "*",
        Some(serde_json::Value::Object(m)) => m.get("AWS").map_or(false, |a| as_strs(Some(a)).iter().any(|s| s == "*")),
        _ => false,
    }
}

/// Glob with `*` (any run) and `?` (one char), as in IAM policies.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does the directory tree hold any non-directory entry?
fn contains_files(dir: &Path) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() || contains_files(&entry.path())? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Validate a policy document roughly the way MinIO does before storing it.
fn validate_policy(bucket: &str, text: &str) -> S3Result<()> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| s3_error!(MalformedPolicy, "policy is not valid JSON: {e}"))?;
    let statements = as_list(doc.get("Statement"));
    if !doc.is_object() || statements.is_empty() {
        return Err(s3_error!(MalformedPolicy, "policy has no Statement"));
    }
    for st in statements {
        match st.get("Effect").and_then(|v| v.as_str()) {
            Some("Allow") | Some("Deny") => {}
            _ => return Err(s3_error!(MalformedPolicy, "invalid Effect")),
        }
        if as_strs(st.get("Action")).is_empty() {
            return Err(s3_error!(MalformedPolicy, "missing Action"));
        }
        let resources = as_strs(st.get("Resource"));
        if resources.is_empty() {
            return Err(s3_error!(MalformedPolicy, "missing Resource"));
        }
        let prefix = format!("arn:aws:s3:::{bucket}");
        for r in resources {
            if !(r == prefix || r.starts_with(&format!("{prefix}/")) || glob(&r, &prefix)) {
                return Err(s3_error!(MalformedPolicy, "Policy has invalid resource: {r}"));
            }
        }
    }
    Ok(())
}

/// Map an S3 operation name to the IAM action a bucket policy names.
fn iam_action(op: &str) -> String {
    let a = match op {
        "GetObject" | "HeadObject" => "GetObject",
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => "ListBucket",
        "ListMultipartUploads" => "ListBucketMultipartUploads",
        "ListParts" => "ListMultipartUploadParts",
        "CopyObject" | "CreateMultipartUpload" | "UploadPart" | "UploadPartCopy" | "CompleteMultipartUpload" => {
            "PutObject"
        }
        "DeleteObjects" => "DeleteObject",
        other => other,
    };
    format!("s3:{a}")
}

// ---------------------------------------------------------------------------
// S3 implementation: s3s-fs plus policies
// ---------------------------------------------------------------------------

struct Server {
    fs: FileSystem,
    policies: Arc<Policies>,
}

macro_rules! s3_impl {
    ( delegate { $( $name:ident : $input:ident => $output:ident ),* $(,)? } $($extra:tt)* ) => {
        #[async_trait::async_trait]
        impl S3 for Server {
            $(
                async fn $name(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$name(req).await
                }
            )*
            $($extra)*
        }
    };
}

s3_impl! {
    delegate {
        create_bucket: CreateBucketInput => CreateBucketOutput,
        copy_object: CopyObjectInput => CopyObjectOutput,
        delete_object: DeleteObjectInput => DeleteObjectOutput,
        delete_objects: DeleteObjectsInput => DeleteObjectsOutput,
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
        get_object: GetObjectInput => GetObjectOutput,
        head_bucket: HeadBucketInput => HeadBucketOutput,
        head_object: HeadObjectInput => HeadObjectOutput,
        list_buckets: ListBucketsInput => ListBucketsOutput,
        list_objects: ListObjectsInput => ListObjectsOutput,
        list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,
        put_object: PutObjectInput => PutObjectOutput,
        create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
        upload_part: UploadPartInput => UploadPartOutput,
        upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
        list_parts: ListPartsInput => ListPartsOutput,
        complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput,
        abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput,
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        self.policies.require_bucket(&bucket)?;
        // s3s-fs leaves empty directories behind when objects with a '/' in
        // their key are deleted: only files count as content.
        let dir = self.policies.bucket_dir(&bucket);
        let has_objects = tokio::task::spawn_blocking(move || contains_files(&dir))
            .await
            .map_err(|e| s3_error!(e, InternalError))?
            .map_err(|e| s3_error!(e, InternalError))?;
        if has_objects {
            return Err(s3_error!(BucketNotEmpty, "The bucket you tried to delete is not empty"));
        }
        let out = self.fs.delete_bucket(req).await?;
        self.policies.remove(&bucket);
        Ok(out)
    }

    async fn put_bucket_policy(&self, req: S3Request<PutBucketPolicyInput>) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let bucket = &req.input.bucket;
        self.policies.require_bucket(bucket)?;
        validate_policy(bucket, &req.input.policy)?;
        self.policies.store(bucket, &req.input.policy)?;
        let mut resp = S3Response::new(PutBucketPolicyOutput {});
        resp.status = Some(StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn get_bucket_policy(&self, req: S3Request<GetBucketPolicyInput>) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let bucket = &req.input.bucket;
        self.policies.require_bucket(bucket)?;
        match self.policies.load(bucket) {
            Some(policy) => Ok(S3Response::new(GetBucketPolicyOutput { policy: Some(policy) })),
            None => Err(s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist")),
        }
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        let bucket = &req.input.bucket;
        self.policies.require_bucket(bucket)?;
        self.policies.remove(bucket);
        let mut resp = S3Response::new(DeleteBucketPolicyOutput {});
        resp.status = Some(StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        let bucket = &req.input.bucket;
        self.policies.require_bucket(bucket)?;
        if self.policies.load(bucket).is_none() {
            return Err(s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"));
        }
        let public = self.policies.anonymous_allowed(bucket, "s3:GetObject", &format!("arn:aws:s3:::{bucket}/*"))
            || self.policies.anonymous_allowed(bucket, "s3:ListBucket", &format!("arn:aws:s3:::{bucket}"));
        Ok(S3Response::new(GetBucketPolicyStatusOutput {
            policy_status: Some(PolicyStatus { is_public: Some(public) }),
        }))
    }
}

// ---------------------------------------------------------------------------
// Access control: signed requests may do anything (single root user);
// anonymous requests only what a bucket policy grants to "*".
// ---------------------------------------------------------------------------

struct Access {
    policies: Arc<Policies>,
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        let action = iam_action(cx.s3_op().name());
        let allowed = match cx.s3_path() {
            S3Path::Root => false,
            S3Path::Bucket { bucket } => {
                self.policies.anonymous_allowed(bucket, &action, &format!("arn:aws:s3:::{bucket}"))
            }
            S3Path::Object { bucket, key } => {
                self.policies.anonymous_allowed(bucket, &action, &format!("arn:aws:s3:::{bucket}/{key}"))
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "Access Denied."))
        }
    }
}

// ---------------------------------------------------------------------------
// Authentication: the single root user; unknown keys answer like MinIO.
// ---------------------------------------------------------------------------

struct RootUser {
    access_key: String,
    secret_key: SecretKey,
}

#[async_trait::async_trait]
impl S3Auth for RootUser {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.access_key {
            Ok(self.secret_key.clone())
        } else {
            Err(s3_error!(InvalidAccessKeyId, "The Access Key Id you provided does not exist in our records."))
        }
    }
}

// ---------------------------------------------------------------------------
// Health endpoints
// ---------------------------------------------------------------------------

/// Health routes; `rustfs` adds RustFS's `/health` and `/health/ready`.
struct Health {
    rustfs: bool,
}

#[async_trait::async_trait]
impl S3Route for Health {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        let minio = matches!(
            uri.path(),
            "/minio/health/live" | "/minio/health/ready" | "/minio/health/cluster" | "/minio/health/cluster/read"
        );
        // RustFS's own routes, only under its contract (the entrypoint's `rustfs` mode).
        let rustfs = self.rustfs && matches!(uri.path(), "/health" | "/health/ready");
        (method == Method::GET || method == Method::HEAD) && (minio || rustfs)
    }

    async fn check_access(&self, _req: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, _req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        Ok(S3Response::new(Body::empty()))
    }
}

// ---------------------------------------------------------------------------
// Command line (MinIO's shape)
// ---------------------------------------------------------------------------

struct Opts {
    address: String,
    console_address: Option<String>,
    dir: PathBuf,
}

fn usage() -> ! {
    eprintln!("usage: minio server [--address ADDR] [--console-address ADDR] DIR");
    std::process::exit(2)
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("server") => {}
        Some("--version") | Some("-v") | Some("version") => {
            println!("minio version flowinfra-s3-standin {} (s3s-fs 0.14)", env!("CARGO_PKG_VERSION"));
            std::process::exit(0);
        }
        _ => usage(),
    }
    let mut address = std::env::var("MINIO_ADDRESS").unwrap_or_else(|_| ":9000".into());
    let mut console_address = std::env::var("MINIO_CONSOLE_ADDRESS").ok();
    let mut dirs = Vec::new();
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).unwrap_or_else(|| usage());
        match flag.as_str() {
            "--address" => address = value(),
            "--console-address" => console_address = Some(value()),
            "--certs-dir" | "-S" | "--ftp" | "--sftp" => {
                let v = value();
                eprintln!("WARNING: {flag} {v} is ignored by the stand-in");
            }
            "--quiet" | "--anonymous" | "--json" => {}
            f if f.starts_with('-') => eprintln!("WARNING: unknown flag {f} ignored"),
            _ => dirs.push(a),
        }
    }
    if dirs.len() != 1 {
        eprintln!("ERROR: the stand-in serves exactly one local directory (got {dirs:?})");
        std::process::exit(2);
    }
    if dirs[0].contains("...") || dirs[0].contains("://") {
        eprintln!("ERROR: erasure-coded / distributed layouts are not supported: {}", dirs[0]);
        std::process::exit(2);
    }
    Opts { address, console_address, dir: PathBuf::from(&dirs[0]) }
}

fn socket_addr(s: &str) -> SocketAddr {
    let s = if s.starts_with(':') { format!("0.0.0.0{s}") } else { s.to_owned() };
    s.parse().unwrap_or_else(|_| {
        eprintln!("ERROR: invalid address {s:?} (want HOST:PORT or :PORT)");
        std::process::exit(2)
    })
}

fn credentials() -> (String, String) {
    let env = |a: &str, b: &str| std::env::var(a).ok().filter(|v| !v.is_empty()).or_else(|| std::env::var(b).ok().filter(|v| !v.is_empty()));
    let user = env("MINIO_ROOT_USER", "MINIO_ACCESS_KEY");
    let pass = env("MINIO_ROOT_PASSWORD", "MINIO_SECRET_KEY");
    let (user, pass) = match (user, pass) {
        (None, None) => {
            eprintln!("WARNING: Detected default credentials 'minioadmin:minioadmin', we recommend that you change these values with 'MINIO_ROOT_USER' and 'MINIO_ROOT_PASSWORD' environment variables");
            ("minioadmin".to_owned(), "minioadmin".to_owned())
        }
        (Some(u), Some(p)) => (u, p),
        _ => {
            eprintln!("ERROR: Missing credential environment variable, both MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set");
            std::process::exit(1)
        }
    };
    // Same limits as MinIO: access key >= 3 chars, secret key >= 8 chars.
    if user.len() < 3 {
        eprintln!("ERROR: Invalid credentials: MINIO_ROOT_USER length should be at least 3, and no more than 20 characters");
        std::process::exit(1);
    }
    if pass.len() < 8 {
        eprintln!("ERROR: Invalid credentials: MINIO_ROOT_PASSWORD length should be at least 8, and no more than 40 characters");
        std::process::exit(1);
    }
    (user, pass)
}

/// The console address only serves a short placeholder page.
async fn console(listener: TcpListener) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf)).await;
            let body = "flowinfra S3 stand-in: the MinIO console is not available in this image.\n";
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

#[tokio::main]
async fn main() {
    let opts = parse_args();
    let (user, pass) = credentials();

    if let Err(e) = std::fs::create_dir_all(&opts.dir) {
        eprintln!("ERROR: cannot create {}: {e}", opts.dir.display());
        std::process::exit(1);
    }
    let root: PathBuf = std::fs::canonicalize(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let fs = match FileSystem::new(&root) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("ERROR: cannot use {}: {e:?}", root.display());
            std::process::exit(1)
        }
    };
    let policies = Arc::new(Policies { root: root.clone() });

    let service = {
        let mut b = S3ServiceBuilder::new(Server { fs, policies: policies.clone() });
        b.set_auth(RootUser { access_key: user, secret_key: SecretKey::from(pass) });
        b.set_access(Access { policies });
        b.set_route(Health {
            rustfs: std::env::var("STANDIN_S3_CONTRACT").is_ok_and(|v| v == "rustfs"),
        });
        b.build()
    };

    let api_addr = socket_addr(&opts.address);
    let listener = TcpListener::bind(api_addr).await.unwrap_or_else(|e| {
        eprintln!("ERROR: cannot listen on {api_addr}: {e}");
        std::process::exit(1)
    });
    if let Some(c) = &opts.console_address {
        let caddr = socket_addr(c);
        match TcpListener::bind(caddr).await {
            Ok(l) => {
                tokio::spawn(console(l));
            }
            Err(e) => eprintln!("WARNING: cannot listen on console address {caddr}: {e}"),
        }
    }

    println!("MinIO Object Storage Server (flowinfra stand-in on s3s-fs)");
    println!("Storage: {}", show(&root));
    println!("API: http://{api_addr}");
    if let Some(c) = &opts.console_address {
        println!("WebUI: http://{} (placeholder, no console)", socket_addr(c));
    }
    println!("Status: 1 Online, 0 Offline.");

    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");

    loop {
        let socket = tokio::select! {
            res = listener.accept() => match res {
                Ok((socket, _)) => socket,
                Err(e) => { eprintln!("accept error: {e}"); continue; }
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        let conn = http.serve_connection(TokioIo::new(socket), service.clone());
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    println!("Exiting on signal");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(std::time::Duration::from_secs(3)) => {},
    }
}

fn show(p: &Path) -> String {
    p.display().to_string()
}
