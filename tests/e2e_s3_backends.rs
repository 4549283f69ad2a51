//! The `s3` kind on each backend's contract: the same provisioning against
//! a server started under MinIO's contract (`MINIO_ROOT_*`, `server`
//! command, `/minio/health/*`) and one under RustFS's (`RUSTFS_*` with the
//! `MINIO_*` legacy aliases, no command, `/health/ready`), both the offline
//! S3 stand-in (docs/standin-images.md). Buckets are created, `download`
//! lets anyone get and list and `private` does not, `env` names the
//! backend, and keys the server did not get are refused by name.

mod support;

use s3::Bucket;
use s3::creds::Credentials;
use s3::region::Region;
use support::{FlowliteStack, assert_success, stderr, stdout};

/// The root keys both fixtures give their server.
const ROOT: (&str, &str) = ("contract_root", "contract_root_password");

fn stack(test: &str, contract: &str) -> FlowliteStack {
    FlowliteStack::of_spec(test, &[&format!("tests/fixtures/s3-backends/{contract}.yaml")])
}

fn bucket(stack: &FlowliteStack, name: &str) -> Box<Bucket> {
    let region = Region::Custom {
        region: "us-east-1".into(),
        endpoint: format!("http://127.0.0.1:{}", stack.port("MINIO_PORT")),
    };
    let credentials = Credentials::new(Some(ROOT.0), Some(ROOT.1), None, None, None).unwrap();
    Bucket::new(name, region, credentials).unwrap().with_path_style()
}

/// The HTTP status of an unsigned GET.
async fn anonymous_get(stack: &FlowliteStack, path: &str) -> u16 {
    let url = format!("http://127.0.0.1:{}/{path}", stack.port("MINIO_PORT"));
    reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .status()
        .as_u16()
}

/// `up`, then what a user sees of the buckets, through the server's own
/// root keys and anonymously; `health` are the contract's health routes
/// (200 without auth), `not_health` a route it does not have.
async fn provisions_buckets_and_policies(test: &str, contract: &str, health: &[&str], not_health: Option<&str>) {
    let stack = stack(test, contract);
    let up = stack.flowinfra(&["up"]);
    // A stand-in built from an older recipe has no `rustfs` mode: say so
    // rather than leave a bare usage line to decode.
    assert!(
        !stderr(&up).contains("usage: minio server"),
        "flowinfra-standin/minio:test predates its rustfs mode: run scripts/build-test-images.sh\n{}",
        stderr(&up)
    );
    assert_success(&up, "up");
    let text = stderr(&up);
    assert!(text.contains("s3: 2 buckets ready (2 created, 1 policy set)"), "{text}");

    for name in ["shared-reports", "private-statements"] {
        bucket(&stack, name)
            .put_object("2026/12/report.pdf", b"figures")
            .await
            .unwrap_or_else(|e| panic!("{contract}: put into {name}: {e}"));
    }
    assert_eq!(
        anonymous_get(&stack, "shared-reports/2026/12/report.pdf").await,
        200,
        "{contract}: download gets"
    );
    assert_eq!(
        anonymous_get(&stack, "shared-reports").await,
        200,
        "{contract}: download lists"
    );
    assert_eq!(
        anonymous_get(&stack, "private-statements/2026/12/report.pdf").await,
        403,
        "{contract}: private"
    );
    assert_eq!(
        anonymous_get(&stack, "private-statements").await,
        403,
        "{contract}: private lists nothing"
    );

    for route in health {
        assert_eq!(anonymous_get(&stack, route).await, 200, "{contract}: {route}");
    }
    if let Some(route) = not_health {
        assert_ne!(anonymous_get(&stack, route).await, 200, "{contract}: {route}");
    }

    let env = stack.flowinfra(&["env"]);
    assert_success(&env, "env");
    let settings = stdout(&env);
    assert!(settings.contains(&format!("S3_BACKEND={contract}\n")), "{settings}");
    assert!(settings.contains("AWS_ACCESS_KEY_ID=contract_root\n"), "{settings}");

    let check = stack.flowinfra(&["check"]);
    assert_success(&check, "check");
    assert!(
        stdout(&check).contains("2 buckets with their policies present"),
        "{}",
        stdout(&check)
    );
    assert_success(&stack.flowinfra(&["down", "-v"]), "down -v");
}

#[tokio::test]
async fn minio_contract_buckets_and_policies() {
    let health = ["minio/health/live", "minio/health/cluster"];
    provisions_buckets_and_policies("s3-minio-contract", "minio", &health, Some("health/ready")).await;
}

#[tokio::test]
async fn rustfs_contract_buckets_and_policies() {
    // RustFS also routes MinIO's health paths, so there is no foreign one.
    let health = ["health", "health/ready", "minio/health/live"];
    provisions_buckets_and_policies("s3-rustfs-contract", "rustfs", &health, None).await;
}

/// The server took `RUSTFS_ACCESS_KEY`; naming the wrong backend makes
/// flowinfra sign with `MINIO_ROOT_USER`, which RustFS ignores when the
/// canonical variable is set. The container stays as created (a backend is
/// flowinfra's setting, not the container's), and `up` names the refusal.
#[tokio::test]
async fn keys_the_server_did_not_get_are_refused_by_name() {
    let stack = stack("s3-wrong-root-key", "rustfs");
    assert_success(&stack.flowinfra(&["up"]), "up");
    let before = stack.container_ids().await;
    let output = stack.flowinfra_with(&["up", "--timeout", "60"], &[("S3_BACKEND_OVERRIDE", "minio")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("service `s3` is not ready: the credentials were refused"),
        "{text}"
    );
    assert!(text.contains("InvalidAccessKeyId"), "{text}");
    assert!(!text.contains("legacy_root_password"), "the secret leaked: {text}");
    assert_eq!(stack.container_ids().await, before, "the container was not recreated");
    assert_success(&stack.flowinfra(&["down", "-v"]), "down -v");
}
