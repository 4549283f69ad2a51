//! Provisioning as a user meets it: `up` declares RabbitMQ's exchanges,
//! queues and bindings and creates S3 buckets with their anonymous-access
//! policies, for the Flowlite spec and for the traffic-system stack of the
//! references (`tests/fixtures/traffic-system/`), against the offline
//! stand-ins (built by scripts/build-test-images.sh). What exists is read
//! back over the services' own protocols: passive declares, RabbitMQ's
//! management API, signed and anonymous S3 requests.

mod support;

use flowinfra::kinds::bucket_policy;
use flowinfra::spec::BucketPolicy;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use s3::Bucket;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::region::Region;
use support::{FlowliteStack, assert_success, stderr};

const TRAFFIC_SYSTEM: &[&str] = &[
    "tests/fixtures/traffic-system/compose.yaml",
    "tests/fixtures/traffic-system/offline.yaml",
];
const TRAFFIC_QUEUES: [&str; 5] = [
    "infractions.detected",
    "vehicles.tracked",
    "plates.recognized",
    "devices.status",
    "notifications.send",
];

/// The RabbitMQ user and the S3 keys a stack's spec defaults to.
struct Logins {
    rabbitmq: (&'static str, &'static str),
    s3: (&'static str, &'static str),
}

const FLOWLITE: Logins = Logins {
    rabbitmq: ("admin", "flowlite_rabbitmq_password"),
    s3: ("flowlite_minio", "flowlite_minio_password"),
};
const TRAFFIC: Logins = Logins {
    rabbitmq: ("admin", "SecurePassword123!"),
    s3: ("admin", "SecurePassword123!"),
};

fn traffic_system(test: &str) -> FlowliteStack {
    FlowliteStack::of_spec(test, TRAFFIC_SYSTEM)
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new("tests/fixtures/traffic-system").join(name)
}

/// An AMQP connection to the stack's broker on the default vhost.
async fn amqp(stack: &FlowliteStack, logins: &Logins) -> Connection {
    let (user, password) = logins.rabbitmq;
    let uri = format!("amqp://{user}:{password}@127.0.0.1:{}/%2f", stack.port("RABBITMQ_PORT"));
    Connection::connect(&uri, ConnectionProperties::default())
        .await
        .expect("AMQP accepts the spec's user")
}

/// The number of messages in `queue`, by a passive declare (which fails
/// when the queue does not exist, and never creates it).
async fn queue_messages(connection: &Connection, queue: &str) -> Result<u32, String> {
    let channel = connection.create_channel().await.map_err(|e| e.to_string())?;
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await
        .map(|declared| declared.message_count())
        .map_err(|e| e.to_string())
}

/// `GET /api/PATH` on the stack's RabbitMQ management API, as JSON.
async fn management(stack: &FlowliteStack, logins: &Logins, path: &str) -> serde_json::Value {
    let (user, password) = logins.rabbitmq;
    let url = format!("http://127.0.0.1:{}/api/{path}", stack.port("RABBITMQ_MANAGEMENT_PORT"));
    let response = reqwest::Client::new()
        .get(&url)
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(response.status().is_success(), "GET {url}: {}", response.status());
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// A signed, path-style handle on `name` in the stack's S3 store.
fn bucket(stack: &FlowliteStack, logins: &Logins, name: &str) -> Box<Bucket> {
    let (access_key, secret_key) = logins.s3;
    let region = Region::Custom {
        region: "us-east-1".into(),
        endpoint: format!("http://127.0.0.1:{}", stack.port("MINIO_PORT")),
    };
    let credentials = Credentials::new(Some(access_key), Some(secret_key), None, None, None).unwrap();
    Bucket::new(name, region, credentials).unwrap().with_path_style()
}

/// The bucket's policy as the server returns it; `None` without one.
async fn policy_of(bucket: &Bucket) -> Option<String> {
    match bucket.get_bucket_policy().await {
        Ok(response) => Some(String::from_utf8_lossy(response.as_slice()).into_owned()),
        Err(S3Error::HttpFailWithBody(404, body)) if body.contains("NoSuchBucketPolicy") => None,
        Err(error) => panic!("GetBucketPolicy {}: {error}", bucket.name()),
    }
}

/// Fails unless `name` exists and its policy grants what `policy` declares.
async fn assert_bucket(stack: &FlowliteStack, logins: &Logins, name: &str, policy: BucketPolicy, prefix: Option<&str>) {
    let handle = bucket(stack, logins, name);
    // ListObjects answers NoSuchBucket for a missing bucket. (rust-s3's
    // `Bucket::exists` cannot parse the stand-in's owner-less bucket list.)
    if let Err(error) = handle.list(String::new(), None).await {
        panic!("bucket {name} is missing: {error}");
    }
    let stored = policy_of(&handle).await;
    match (bucket_policy::document(name, policy, prefix), stored) {
        (None, None) => {}
        (Some(declared), Some(stored)) => assert!(
            bucket_policy::same_grants(&declared, &stored),
            "bucket {name}: declared {declared}\nstored {stored}"
        ),
        (declared, stored) => panic!("bucket {name}: declared {declared:?}, stored {stored:?}"),
    }
}

/// The HTTP status of an unsigned request.
async fn anonymous(stack: &FlowliteStack, method: reqwest::Method, path: &str) -> u16 {
    let url = format!("http://127.0.0.1:{}/{path}", stack.port("MINIO_PORT"));
    reqwest::Client::new()
        .request(method, &url)
        .body(if path.ends_with(".txt") { "anonymous" } else { "" })
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .status()
        .as_u16()
}

#[tokio::test]
async fn flowlite_up_declares_its_queue_and_buckets_and_a_second_up_changes_nothing() {
    let stack = FlowliteStack::new("provision-flowlite");
    let first = stack.flowinfra(&["up"]);
    assert_success(&first, "up");
    let text = stderr(&first);
    assert!(text.contains("rabbitmq: declared 1 queue on vhost /"), "{text}");
    assert!(
        text.contains("minio: 2 buckets ready (2 created, 1 policy set)"),
        "{text}"
    );

    let connection = amqp(&stack, &FLOWLITE).await;
    assert_eq!(queue_messages(&connection, "batch_processed").await, Ok(0));
    let queue = management(&stack, &FLOWLITE, "queues/%2F/batch_processed").await;
    assert_eq!(queue["durable"], true);
    assert_bucket(&stack, &FLOWLITE, "flowlite-statements", BucketPolicy::Private, None).await;
    assert_bucket(&stack, &FLOWLITE, "flowlite-reports", BucketPolicy::Download, None).await;

    let before = stack.container_ids().await;
    let again = stack.flowinfra(&["up"]);
    assert_success(&again, "second up");
    let text = stderr(&again);
    assert!(text.contains("minio: 2 buckets ready\n"), "{text}");
    assert!(text.contains("rabbitmq: declared 1 queue on vhost /"), "{text}");
    assert_eq!(stack.container_ids().await, before, "{text}");
}

#[tokio::test]
async fn traffic_system_up_declares_five_durable_queues_and_three_buckets_with_their_policies() {
    let stack = traffic_system("provision-traffic");
    let output = stack.flowinfra(&["up"]);
    assert_success(&output, "up");
    let text = stderr(&output);
    assert!(text.contains("rabbitmq: declared 5 queues on vhost /"), "{text}");
    assert!(
        text.contains("minio: 3 buckets ready (3 created, 2 policies set)"),
        "{text}"
    );

    let connection = amqp(&stack, &TRAFFIC).await;
    for queue in TRAFFIC_QUEUES {
        assert_eq!(queue_messages(&connection, queue).await, Ok(0), "queue {queue}");
        let declared = management(&stack, &TRAFFIC, &format!("queues/%2F/{queue}")).await;
        assert_eq!(declared["durable"], true, "queue {queue}: {declared}");
        assert_eq!(declared["arguments"], serde_json::json!({}), "queue {queue}");
    }
    assert_bucket(&stack, &TRAFFIC, "traffic-snapshots", BucketPolicy::Download, None).await;
    assert_bucket(&stack, &TRAFFIC, "traffic-videos", BucketPolicy::Download, None).await;
    assert_bucket(&stack, &TRAFFIC, "ml-models", BucketPolicy::Private, None).await;

    // Redis runs with the reference's persistence and memory policy.
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/0", stack.port("REDIS_PORT"))).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    for (setting, expected) in [
        ("appendonly", "yes"),
        ("maxmemory", "536870912"),
        ("maxmemory-policy", "allkeys-lru"),
    ] {
        let answer: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(setting)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(answer, [setting, expected]);
    }
}

/// The S3 stand-in enforces bucket policies for anonymous requests (see
/// docs/standin-images.md), so both directions are checked for real.
#[tokio::test]
async fn an_object_in_a_download_bucket_is_public_and_one_in_a_private_bucket_is_not() {
    let stack = traffic_system("provision-anonymous");
    assert_success(&stack.flowinfra(&["up", "minio"]), "up minio");
    for name in ["traffic-snapshots", "ml-models"] {
        bucket(&stack, &TRAFFIC, name)
            .put_object("2025-11-02/cam001.jpg", b"evidence")
            .await
            .unwrap_or_else(|e| panic!("put into {name}: {e}"));
    }

    let get = reqwest::Method::GET;
    assert_eq!(
        anonymous(&stack, get.clone(), "traffic-snapshots/2025-11-02/cam001.jpg").await,
        200
    );
    assert_eq!(
        anonymous(&stack, get.clone(), "traffic-snapshots").await,
        200,
        "download lists too"
    );
    assert_eq!(
        anonymous(&stack, get.clone(), "ml-models/2025-11-02/cam001.jpg").await,
        403
    );
    assert_eq!(anonymous(&stack, get, "ml-models").await, 403);
    // Download is read-only.
    assert_eq!(
        anonymous(&stack, reqwest::Method::PUT, "traffic-snapshots/anonymous.txt").await,
        403
    );
}

#[tokio::test]
async fn exchanges_queue_arguments_and_bindings_are_declared() {
    let stack = traffic_system("provision-topology").with_override(&fixture("dead-letters.yaml"));
    let output = stack.flowinfra(&["up", "rabbitmq"]);
    assert_success(&output, "up rabbitmq");
    assert!(
        stderr(&output).contains("rabbitmq: declared 1 exchange, 6 queues and 1 binding on vhost /"),
        "{}",
        stderr(&output)
    );

    let exchange = management(&stack, &TRAFFIC, "exchanges/%2F/traffic.dead-letters").await;
    assert_eq!(exchange["type"], "topic");
    assert_eq!(exchange["durable"], true);
    let detected = management(&stack, &TRAFFIC, "queues/%2F/infractions.detected").await;
    assert_eq!(
        detected["arguments"],
        serde_json::json!({"x-message-ttl": 86_400_000, "x-dead-letter-exchange": "traffic.dead-letters"})
    );
    let dead = management(&stack, &TRAFFIC, "queues/%2F/infractions.dead").await;
    assert_eq!(dead["arguments"], serde_json::json!({"x-max-length": 10_000}));
    let bindings = management(
        &stack,
        &TRAFFIC,
        "bindings/%2F/e/traffic.dead-letters/q/infractions.dead",
    )
    .await;
    let keys: Vec<&str> = bindings
        .as_array()
        .unwrap()
        .iter()
        .map(|binding| binding["routing_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["infractions.#"]);

    // Declaring it all again is a no-op.
    assert_success(&stack.flowinfra(&["up", "rabbitmq"]), "second up rabbitmq");
}

#[tokio::test]
async fn an_incompatible_queue_change_fails_readably_and_leaves_the_queue_untouched() {
    let stack = traffic_system("provision-conflict");
    assert_success(&stack.flowinfra(&["up", "rabbitmq"]), "up rabbitmq");
    let connection = amqp(&stack, &TRAFFIC).await;
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    channel
        .basic_publish(
            "".into(),
            "infractions.detected".into(),
            BasicPublishOptions::default(),
            b"{\"event_type\":\"infraction_detected\"}",
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap()
        .await
        .unwrap();

    // Adding a TTL and a dead-letter exchange to the existing queue.
    let changed = stack.with_override(&fixture("dead-letters.yaml"));
    let output = changed.flowinfra(&["up", "rabbitmq"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains(
            "service `rabbitmq` is running, but provisioning it failed: queue `infractions.detected` already exists with other arguments: \
             declared durable with {x-dead-letter-exchange: \"traffic.dead-letters\", x-message-ttl: 86400000}, \
             but the existing queue is durable with no arguments (RabbitMQ: PRECONDITION_FAILED - inequivalent arg"
        ),
        "{text}"
    );
    assert!(
        text.contains("rabbitmqctl delete_queue -p / infractions.detected"),
        "{text}"
    );

    // The queue keeps its arguments and its message; the rest was declared.
    assert_eq!(queue_messages(&connection, "infractions.detected").await, Ok(1));
    let detected = management(&changed, &TRAFFIC, "queues/%2F/infractions.detected").await;
    assert_eq!(detected["arguments"], serde_json::json!({}));
    assert_eq!(queue_messages(&connection, "infractions.dead").await, Ok(0));
}

#[tokio::test]
async fn refused_rabbitmq_credentials_name_the_service() {
    let stack = FlowliteStack::new("provision-bad-credentials");
    assert_success(&stack.flowinfra(&["up", "rabbitmq"]), "up rabbitmq");
    // The broker keeps the user it created on its first start; a changed .env password is refused.
    let output = stack.flowinfra_with(
        &["up", "--timeout", "90", "rabbitmq"],
        &[("RABBITMQ_PASSWORD", "not-the-password")],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("service `rabbitmq` is not ready: the credentials were refused"),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "the password leaked: {text}");
}

#[tokio::test]
async fn changing_only_queues_and_buckets_reapplies_them_without_recreating_containers() {
    let stack = traffic_system("provision-reapply");
    assert_success(&stack.flowinfra(&["up"]), "up");
    let before = stack.container_ids().await;
    assert_eq!(before.len(), 3);

    let changed = stack.with_override(&fixture("more-queues-and-buckets.yaml"));
    let output = changed.flowinfra(&["up"]);
    assert_success(&output, "up with more queues and buckets");
    let text = stderr(&output);
    assert_eq!(
        changed.container_ids().await,
        before,
        "a container was recreated:\n{text}"
    );
    assert!(text.contains("rabbitmq: declared 6 queues on vhost /"), "{text}");
    assert!(
        text.contains("minio: 4 buckets ready (1 created, 1 policy set, 1 policy removed)"),
        "{text}"
    );

    let connection = amqp(&changed, &TRAFFIC).await;
    assert_eq!(queue_messages(&connection, "infractions.reviewed").await, Ok(0));
    assert_bucket(
        &changed,
        &TRAFFIC,
        "traffic-exports",
        BucketPolicy::Public,
        Some("reports/"),
    )
    .await;
    assert_bucket(&changed, &TRAFFIC, "traffic-videos", BucketPolicy::Private, None).await;
    assert_bucket(&changed, &TRAFFIC, "traffic-snapshots", BucketPolicy::Download, None).await;
}
