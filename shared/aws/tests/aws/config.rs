//! Configuration from the environment, as the functions read it.

use crate::common::endpoint;
use exsync_aws::config::load_sdk_config;

#[tokio::test]
async fn the_sdk_takes_the_local_endpoint_from_aws_endpoint_url() {
    let endpoint = endpoint();
    let sdk = load_sdk_config().await.unwrap();
    assert_eq!(sdk.endpoint_url(), Some(endpoint.as_str()));
    // And a client built from it reaches that endpoint (a real AWS endpoint would refuse
    // the dummy credentials).
    aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .limit(1)
        .send()
        .await
        .unwrap();
}
