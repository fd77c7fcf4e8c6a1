//! How the server authenticated each connection ([`Checkout::auth_method`]), against a
//! throwaway TLS cluster with a SCRAM user: SCRAM-SHA-256-PLUS by default over TLS (the server
//! verified the channel binding, or the login would have failed), plain SCRAM-SHA-256 with
//! binding disabled or without TLS, trust for the trust-authenticated superuser.

mod common;
mod support;

use std::sync::Arc;

use serde_json::{json, Value};

use leak_detecting_pool::pg::AuthMethod;
use leak_detecting_pool::pool::{CheckoutMeta, NoEvents, StaticPassword};
use leak_detecting_pool::Pool;

const USER: &str = "ldp_rs_scram";
const PASSWORD: &str = "rs-scram-secret";

async fn method(cluster: &common::ThrowawayCluster, extra: Value) -> AuthMethod {
    let opts = support::merge(
        json!({ "host": "127.0.0.1", "port": cluster.port, "database": cluster.database, "max": 1 }),
        extra,
    );
    let user = opts["user"].as_str().map(str::to_string);
    let password = (user.as_deref() == Some(USER)).then(|| PASSWORD.to_string());
    let pool = Pool::new(
        support::config_from(opts),
        Arc::new(NoEvents),
        Arc::new(StaticPassword(password)),
        tokio::runtime::Handle::current(),
    );
    let c = pool
        .connect(CheckoutMeta::default())
        .await
        .unwrap_or_else(|e| panic!("{user:?}: {e}"));
    let m = c.auth_method();
    c.release(false).expect("released");
    pool.end().expect("ended").await;
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_is_bound_to_the_tls_channel_by_default() {
    let cluster = common::ThrowawayCluster::start_with(json!({
        "tls": true,
        "passwordUser": { "name": USER, "password": PASSWORD, "method": "scram-sha-256" },
    }));
    let no_verify = json!({ "rejectUnauthorized": false });
    let scram = |extra: Value| support::merge(json!({ "user": USER }), extra);
    assert_eq!(
        method(&cluster, scram(json!({ "ssl": no_verify }))).await,
        AuthMethod::ScramSha256Plus
    );
    assert_eq!(
        method(
            &cluster,
            scram(json!({ "ssl": no_verify, "channelBinding": "disable" }))
        )
        .await,
        AuthMethod::ScramSha256
    );
    assert_eq!(
        method(
            &cluster,
            scram(json!({ "ssl": no_verify, "enableChannelBinding": false }))
        )
        .await,
        AuthMethod::ScramSha256
    );
    assert_eq!(
        method(&cluster, scram(json!({}))).await,
        AuthMethod::ScramSha256
    );
    assert_eq!(
        method(&cluster, json!({ "user": "postgres", "ssl": no_verify })).await,
        AuthMethod::Trust
    );
}
